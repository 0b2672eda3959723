"""Small learnable synthetic datasets in the real file formats.

Every generator is seeded, so tests see the same files on every run.
"""

import csv
import json
import os
import random

TINY_CONFIG = {
    "attention_probs_dropout_prob": 0.0, "embedding_size": 16,
    "hidden_act": "gelu", "hidden_dropout_prob": 0.0, "hidden_size": 32,
    "initializer_range": 0.02, "inner_group_num": 1,
    "intermediate_size": 64, "max_position_embeddings": 64,
    "num_attention_heads": 2, "num_hidden_groups": 1,
    "num_hidden_layers": 2, "type_vocab_size": 2, "vocab_size": 4000,
}

_POSITIVE = "good great excellent wonderful superb lovely".split()
_NEGATIVE = "bad awful terrible horrible poor dreadful".split()
_FILLER = "the movie was a and it film story with plot actor scene".split()


def write_tiny_config(path, **overrides):
  with open(path, "w") as f:
    json.dump(dict(TINY_CONFIG, **overrides), f)
  return path


def _sentiment_sentence(rng, label):
  words = [rng.choice(_FILLER) for _ in range(rng.randint(4, 9))]
  words.insert(rng.randrange(len(words) + 1),
               rng.choice(_POSITIVE if label else _NEGATIVE))
  return " ".join(words)


def write_sst2(data_dir, sizes=(400, 100, 40), seed=0):
  """GLUE SST-2 layout: sentence<TAB>label; test: index<TAB>sentence."""
  rng = random.Random(seed)
  os.makedirs(data_dir, exist_ok=True)
  for split, n in zip(("train", "dev", "test"), sizes):
    with open(os.path.join(data_dir, f"{split}.tsv"), "w") as f:
      f.write("index\tsentence\n" if split == "test" else "sentence\tlabel\n")
      for i in range(n):
        label = rng.randint(0, 1)
        sentence = _sentiment_sentence(rng, label)
        f.write(f"{i}\t{sentence}\n" if split == "test"
                else f"{sentence}\t{label}\n")
  return data_dir


def write_stsb(data_dir, sizes=(400, 100, 20), seed=0):
  """GLUE STS-B layout (10 columns; score 2.5 per positive sentence)."""
  rng = random.Random(seed)
  os.makedirs(data_dir, exist_ok=True)
  header = ("index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\t"
            "sentence1\tsentence2\tscore")
  for split, n in zip(("train", "dev", "test"), sizes):
    with open(os.path.join(data_dir, f"{split}.tsv"), "w") as f:
      f.write((header.rsplit("\t", 1)[0] if split == "test" else header)
              + "\n")
      for i in range(n):
        a, b = rng.randint(0, 1), rng.randint(0, 1)
        score = 2.5 * (a + b)
        row = [str(i), "main", "x", "2012", str(i), "none", "none",
               _sentiment_sentence(rng, a), _sentiment_sentence(rng, b)]
        if split != "test":
          row.append(f"{score:.3f}")
        f.write("\t".join(row) + "\n")
  return data_dir


def write_generic_csv(data_dir, sizes=(300, 80, 20), seed=1):
  """Generic csv task: text,text_b,label with three labels (one quoted)."""
  rng = random.Random(seed)
  os.makedirs(data_dir, exist_ok=True)
  labels = {"pos": _POSITIVE, "neg": _NEGATIVE, "mixed, odd": None}
  for split, n in zip(("train", "dev", "test"), sizes):
    with open(os.path.join(data_dir, f"{split}.csv"), "w", newline="") as f:
      writer = csv.writer(f)
      writer.writerow(["text", "text_b", "label"])
      for _ in range(n):
        label = rng.choice(sorted(labels))
        words = [rng.choice(_FILLER) for _ in range(5)]
        if labels[label]:
          words[rng.randrange(5)] = rng.choice(labels[label])
        writer.writerow([" ".join(words), "a, quoted text_b", label])
  return data_dir


_DISHES = ["pad thai", "fish and chips", "ramen", "margherita pizza",
           "chicken curry", "caesar salad", "beef burger", "miso soup"]
_TEMPLATES = ["i loved the {} here .", "the {} was cold , sadly",
              "we ordered {} and wine", "their {} is the best in town !",
              "never try the {} , trust me", "great service but the {} was "
              "bland"]


def write_dish_csv(data_dir, sizes=(300, 60, 10), seed=2,
                   columns=("text", "entity")):
  """text,entity CSV (dish names in restaurant reviews); `columns` names
  the header's two columns."""
  rng = random.Random(seed)
  os.makedirs(data_dir, exist_ok=True)
  for split, n in zip(("train", "dev", "test"), sizes):
    with open(os.path.join(data_dir, f"{split}.csv"), "w", newline="") as f:
      writer = csv.writer(f)
      writer.writerow(list(columns) if split != "test" else [columns[0]])
      for _ in range(n):
        dish = rng.choice(_DISHES)
        text = rng.choice(_TEMPLATES).format(dish)
        writer.writerow([text, dish] if split != "test" else [text])
  return data_dir


_PEOPLE = ["john", "mary", "alice", "bob", "peter", "susan"]
_PLACES = ["paris", "london", "berlin", "tokyo", "madrid", "rome"]
_VERBS = ["visited", "left", "loves", "saw", "moved to", "flew to"]


def write_conll(data_dir, sizes=(300, 60, 10), seed=3):
  """CoNLL: token POS tag per line, PER and LOC entities, -DOCSTART-."""
  rng = random.Random(seed)
  os.makedirs(data_dir, exist_ok=True)
  for split, n in zip(("train", "dev", "test"), sizes):
    lines = ["-DOCSTART- -X- O", ""]
    for _ in range(n):
      person = rng.choice(_PEOPLE)
      tagged = [(person, "B-PER")]
      if rng.random() < 0.3:
        tagged.append((rng.choice(_PEOPLE), "I-PER"))
      tagged += [(w, "O") for w in rng.choice(_VERBS).split()]
      tagged.append((rng.choice(_PLACES), "B-LOC"))
      tagged.append((rng.choice(["today", "yesterday", "."]), "O"))
      for word, tag in tagged:
        lines.append(f"{word} NN {tag}" if split != "test" else word)
      lines.append("")
    with open(os.path.join(data_dir, f"{split}.txt"), "w") as f:
      f.write("\n".join(lines))
  return data_dir


_COLORS = ["red", "blue", "green", "yellow", "black", "white", "pink",
           "brown"]
_OBJECTS = ["box", "car", "door", "hat"]
_ANIMALS = ["dog", "cat", "horse", "bird", "fish", "cow"]


def write_race(data_dir, sizes=(300, 80, 20), seed=4):
  """RACE layout: <split>/middle/*.txt JSON files, 4 options, blanks."""
  rng = random.Random(seed)
  for split, n in zip(("train", "dev", "test"), sizes):
    directory = os.path.join(data_dir, split, "middle")
    os.makedirs(directory, exist_ok=True)
    for i in range(0, n, 2):  # Two questions per article.
      colors = rng.sample(_COLORS, 2)
      objects = rng.sample(_OBJECTS, 2)
      article = " ".join(f"the {o} is {c} ." for o, c in zip(objects,
                                                            colors))
      questions, options, answers = [], [], []
      for obj, color in zip(objects, colors):
        # One other colour and two non-colours: options alone narrow the
        # answer to two, reading the article settles it.
        choices = (rng.sample([c for c in _COLORS if c not in colors], 1)
                   + rng.sample(_ANIMALS, 2))
        answer = rng.randrange(4)
        choices.insert(answer, color)
        if rng.random() < 0.5:
          questions.append(f"the {obj} is _ .")
        else:
          questions.append(f"what color is the {obj} ?")
        options.append(choices)
        answers.append("ABCD"[answer])
      data = {"id": f"{split}{i}.txt", "article": article,
              "questions": questions, "options": options}
      if split != "test":
        data["answers"] = answers
      with open(os.path.join(directory, f"{i}.txt"), "w") as f:
        json.dump(data, f)
  return data_dir
