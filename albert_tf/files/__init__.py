"""File helpers: atomic writes (outputs appear only once complete), checks of
input and output locations, one writer per output directory, run manifests,
and comma-separated globs (file_patterns, which needs TensorFlow)."""

from albert_tf.files.locations import check_output_dir
from albert_tf.files.locations import check_output_file
from albert_tf.files.locations import check_readable
from albert_tf.files.locations import make_directories
from albert_tf.files.output_lock import OutputLockedError
from albert_tf.files.output_lock import lock_output_dir
from albert_tf.files.run_manifest import RunManifestMismatchError
from albert_tf.files.run_manifest import check_or_record
from albert_tf.files.temporaries import remove_stale_temporaries
