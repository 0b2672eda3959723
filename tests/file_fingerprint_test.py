"""files/file_fingerprint: a changed input file is seen, at a bounded cost."""

import os

from albert_tf.files import file_fingerprint as ff


def test_blocks_cover_both_ends_and_stay_few():
  assert ff.block_offsets(0) == []
  assert ff.block_offsets(100) == [0]
  small = ff.BLOCK_SIZE * ff.SAMPLED_BLOCKS
  assert ff.block_offsets(small) == list(range(0, small, ff.BLOCK_SIZE))
  for size in (small + 1, 10**9, 10**11):
    offsets = ff.block_offsets(size)
    assert len(offsets) == ff.SAMPLED_BLOCKS
    assert offsets[0] == 0 and offsets[-1] == size - ff.BLOCK_SIZE
    assert offsets == sorted(offsets)


def _replace(path, offset, data, keep_time=False):
  before = os.stat(path)
  with open(path, "r+b") as f:
    f.seek(offset)
    f.write(data)
  if keep_time:
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
  else:  # Edits within one clock tick still get a new time.
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1000))


def test_edits_that_keep_the_size_are_seen(tmp_path):
  path = str(tmp_path / "corpus.txt")
  size = 3 * 2**20 + 12345  # Larger than the sampled blocks.
  with open(path, "wb") as f:
    f.write(b"the same words again .\n" * (size // 23))
  size = os.path.getsize(path)
  original = ff.fingerprint(path)
  assert original["size"] == size
  # Between sampled blocks: the modification time tells.
  gap = ff.block_offsets(size)[1] - ff.BLOCK_SIZE // 2
  _replace(path, gap, b"THE")
  edited = ff.fingerprint(path)
  assert edited["sampled_sha256"] == original["sampled_sha256"]
  assert edited != original
  assert ff.describe_change(original, edited).startswith("same size, "
                                                         "modified")
  # Another file with the time kept (cp -p, rsync -t): the sampled blocks.
  for offset in (0, size - 3, ff.block_offsets(size)[7] + 10):
    before = ff.fingerprint(path)
    _replace(path, offset, b"XYZ", keep_time=True)
    after = ff.fingerprint(path)
    assert after["mtime_ns"] == before["mtime_ns"]
    assert ff.describe_change(before, after) == "same size, other content"
  # A size change says so.
  with open(path, "ab") as f:
    f.write(b"more\n")
  assert "bytes recorded" in ff.describe_change(original,
                                                ff.fingerprint(path))
