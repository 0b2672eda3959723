"""The command line of a fine-tuning tool, generated from its task's settings.

  python -m albert_tf.run_classifier --flagfile=glue.flags --do_train

Every field of the task's settings class (tasks/finetuning_settings.py and
the task's own fields) is one flag with the same name, default and help;
--flagfile comes with absl. A UserError is one `error:` line and exit
status 1 (cli/flag_table.run_job).
"""

from absl import app

from albert_tf.cli import flag_table
from albert_tf.cli import quiet_startup
from albert_tf.tasks import runner


def main(task_class):
  """Defines the task's flags, then runs the task as they ask."""
  # A task of the user's own (docs/add_a_task.md) runs this from a file
  # that imported TensorFlow first: its start-up lines are out, but the
  # runtime's ("Local rendezvous is aborting with status: OUT_OF_RANGE"
  # after each evaluation) are still filtered from here on.
  quiet_startup.install()
  settings_class = task_class.settings_class
  flag_table.define_flags(settings_class)

  def run_main(argv):
    return flag_table.run_job(
        lambda: runner.run(task_class,
                           flag_table.settings_from_flags(settings_class)),
        argv)
  app.run(run_main, flags_parser=flag_table.parse_flags)
