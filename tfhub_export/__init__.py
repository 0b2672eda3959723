"""Export of TF Hub SavedModels (encoder, preprocessor), TF Serving and TFLite models.

  export.py               python -m tfhub_export.export (the command line)
  export_job.py           its job: export (a checkpoint), export_finetuned
                          (a fine-tuning run), run (the checks and lock)
  export_settings.py      its settings (ExportSettings)
  encoder_export.py       the encoder as a reusable SavedModel (like TF Hub's
                          tensorflow/albert_en_*/3, with the TF1 Hub module's
                          signatures); load_encoder_from_saved_model
  preprocessor_export.py  the tokenizer as a preprocessing SavedModel (like
                          tensorflow/albert_en_preprocess/3)
  serving_export.py       export_serving_model: text in, named outputs out,
                          in TF Serving's <path>/<version>/ layout
  saved_model_cli.py      saved_model_cli with the TF Text ops registered
  tflite_export.py        export_tflite: model.tflite with the tokenizer
                          inside, for the TFLite interpreter with TF Text's
                          registered ops (--export_type=tflite)
  tflite_tokenizer.py     the tokenizers made of TFLite kernels only
"""
