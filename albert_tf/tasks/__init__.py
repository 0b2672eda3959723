"""Fine-tuning tasks: one class each, one runner for all of them.

  base_task.FinetuningTask     what a task declares: data, model, loss,
                               metrics, prediction files, serving outputs
  runner.FinetuningJob         config/tokenizer/strategy/trainer from the
                               task's settings; train, keep the best,
                               evaluate, predict, export
  finetuning_settings          the settings every task shares (the
                               original fine-tuning flags)
  classification               GLUE and csv/tsv (classifier_data,
                               classifier_model)
  multiple_choice              RACE (race_data, multiple_choice_model,
                               race_serving)
  token_classification         BIO tagging (token_data,
                               token_classifier_model)
  squad/task                   SQuAD v1.1/v2.0 (squad/)
  feature_cache                cached TFRecord features and tf.data input
  input_files                  TSV/CSV/JSON readers; InputFormatError names
                               file and line
  metrics                      accuracy, F1, MCC, Pearson, Spearman, span F1

docs/add_a_task.md shows how to write a task of your own.
"""
