"""Training infrastructure shared by run_pretraining and the fine-tuning runs."""
