"""Export of TF Hub SavedModels (encoder, preprocessor, TF Serving models).

The exporters are tracked in the project's issues; this package is where
they live.
"""
