r"""TensorFlow's saved_model_cli with the TF Text ops registered.

  python -m tfhub_export.saved_model_cli run --dir=exports/serving/1 \
      --tag_set=serve --signature_def=serving_default \
      --input_exprs='text_a=["Hello world!"];text_b=[""]'

The preprocessor and serving exports tokenize with TF Text ops, which the
plain `saved_model_cli run` cannot load ("Op type not registered
'NormalizeUTF8'"): TF Serving links them, a Python process registers them
with `import tensorflow_text`. This runs the same tool after that import;
every command and flag is saved_model_cli's. (`saved_model_cli show` needs no
ops and works as is.)
"""

# Before anything loads TensorFlow: keep its start-up chatter off the terminal.
from albert_tf.cli.quiet_startup import quiet_if_main
quiet_if_main(__name__)

import sys

import tensorflow_text  # pylint: disable=unused-import  # Registers the ops.
from tensorflow.python.tools import saved_model_cli


def main():
  sys.argv[0] = "saved_model_cli"
  saved_model_cli.main()


if __name__ == "__main__":
  main()
