"""Shared fine-tuning infrastructure (run_classifier, run_race,
run_token_classification, run_squad).

  flags.define_common_flags()      the original-named flags; flag_namespace()
                                   gives the same defaults from Python
  runner                           flag checks, config/tokenizer/init,
                                   strategy, export, `error: ...` handling
  trainer.Trainer                  custom loop over a tf.distribute strategy:
                                   checkpoints, eval, best checkpoint, predict
  encoder_init.init_encoder        TF1 / TF2 checkpoint or encoder SavedModel
  features.Packer                  [CLS] A [SEP] B [SEP] packing (original
                                   truncation)
  records                          cached TFRecord features and tf.data input
  input_files                      TSV/CSV/JSON readers; InputFormatError
                                   names file and line
  metrics                          accuracy, F1, MCC, Pearson, Spearman,
                                   span F1 (seqeval style)
  classifier_model, multiple_choice_model, token_classifier_model
                                   task heads (dropout 0.1, like the original)
"""
