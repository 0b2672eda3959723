"""The quick start's fine-tuning data: restaurant reviews with dishes tagged.

Reviews are made from hand-written templates and dish names with a seeded
random generator, so the same seed gives byte-identical files on every
machine. Some dishes never occur in the training reviews, only in dev and
test, so the dev span F1 also measures whether the tagger learnt what a
dish looks like in context instead of memorising names.

CSV layout (what run_token_classification reads with text_column="review"
and entity_column="dish_name"): a header `review,dish_name`, one review per
row; dish_name lists the dishes of the review, separated by ";" (empty when
the review names none). test.csv has the review column only.
"""

import csv
import io
import os
import random

from albert_tf.files.atomic_write import write_text_atomically

TEXT_COLUMN = "review"
ENTITY_COLUMN = "dish_name"
ENTITY_TYPE = "DISH"
SPLIT_SIZES = {"train": 400, "dev": 100, "test": 20}
# No dish name is a substring of another (a tagged entity is located in the
# review by its text) or of a template.
TRAIN_DISHES = (
    "pad thai", "margherita pizza", "caesar salad", "beef pho",
    "chicken tikka masala", "fish tacos", "tiramisu", "miso soup",
    "lamb kebab", "falafel wrap", "lobster bisque", "pulled pork sandwich",
    "spaghetti carbonara", "green curry", "cheeseburger", "clam chowder",
    "pork dumplings", "beef brisket", "eggplant parmesan", "shrimp scampi",
    "apple pie", "chocolate mousse", "french onion soup", "bibimbap",
    "paella", "goulash", "chicken shawarma", "mango sticky rice",
    "veggie lasagna", "tuna tartare", "fried calamari", "banana bread",
    "butter chicken", "onion rings", "ramen", "sushi platter", "nachos",
    "gnocchi", "beef wellington", "chicken wings", "pancakes",
    "lemon tart", "moussaka", "ceviche", "burrito", "quiche",
    "cannoli", "samosas", "pierogi", "hummus", "fettuccine alfredo",
    "bread pudding", "fish and chips", "poke bowl", "creme brulee",
    "churros")
# Only in dev and test reviews.
HELD_OUT_DISHES = (
    "mushroom risotto", "duck confit", "pepperoni calzone", "lentil dal",
    "steak frites", "crab cakes", "key lime pie", "vegetable tempura")
# Share of dev/test dish mentions drawn from the held-out dishes.
HELD_OUT_SHARE = 0.5
# Things a review talks about that are not dishes: they fill {n} in the
# templates, so that "the ... was great" alone does not make a dish.
OTHER_NOUNS = (
    "service", "waiter", "waitress", "staff", "music", "terrace", "decor",
    "wine list", "bill", "parking", "table", "menu", "owner", "bartender",
    "lighting", "atmosphere", "view", "booking", "queue", "playlist")
NO_DISH_TEMPLATES = (
    "The {n} was slow but friendly.",
    "Great {n}, we will definitely come back.",
    "The {n} was a nightmare on a Friday night.",
    "Prices are fair and the {n} is lovely.",
    "We had to wait forty minutes because of the {n}.",
    "Honestly the {n} alone is worth the trip.",
    "The {n} was great but a bit loud.",
    "Nobody mentioned the {n}, which was a shame.",
    "Our friends raved about the {n} and so did we.",
    "I would change the {n} next time.",
)
ONE_DISH_TEMPLATES = (
    "The {a} was absolutely delicious.",
    "I ordered the {a} and it arrived cold.",
    "Their {a} is the best in town!",
    "We shared the {a} and two glasses of wine.",
    "Avoid the {a}, it tasted like cardboard.",
    "The {a} was a bit too salty for my taste.",
    "My partner loved the {a} but found the {n} too noisy.",
    "Came here for the {a} and was not disappointed.",
    "If you only try one thing, make it the {a}.",
    "The portion of {a} was huge and very cheap.",
    "Honestly the {a} alone is worth the trip.",
    "The kids devoured the {a} in minutes.",
    "I would skip the {a} next time.",
    "The {n} recommended the {a}, good call.",
    "Everyone at our table asked for more {a}.",
    "The {n} was great and so was the {a}.",
    "Our friends raved about the {a} and so did we.",
    "The {a} came late and the {n} never apologised.",
    "Nice {n}, but the {a} was forgettable.",
    "Best {a} I have had in years.",
)
TWO_DISH_TEMPLATES = (
    "The {a} was great but the {b} was bland.",
    "We started with the {a} and finished with the {b}.",
    "Loved the {a}, the {b} not so much.",
    "Order the {a} and skip the {b}.",
    "Both the {a} and the {b} came out quickly and hot.",
    "The {n} suggested the {a} instead of the {b}.",
)
# A review for the tagging demo: a held-out dish in a sentence that is in
# no template.
DEMO_REVIEW = ("The waiter was friendly, and the duck confit was the best "
               "thing we ate all week.")


def review(rng, dishes):
  """(review text, [dish names]) drawn from the templates; dishes() picks
  a dish name."""
  kind = rng.random()
  noun = rng.choice(OTHER_NOUNS)
  if kind < 0.2:
    return rng.choice(NO_DISH_TEMPLATES).format(n=noun), []
  if kind < 0.8:
    dish = dishes()
    return rng.choice(ONE_DISH_TEMPLATES).format(a=dish, n=noun), [dish]
  first = dishes()
  second = dishes()
  while second == first:
    second = dishes()
  return (rng.choice(TWO_DISH_TEMPLATES).format(a=first, b=second, n=noun),
          [first, second])


def generate(seed=12345):
  """{split: [(review, [dish names])]} for train, dev and test."""
  rng = random.Random(seed)
  splits = {}
  for split, size in SPLIT_SIZES.items():
    if split == "train":
      dishes = lambda: rng.choice(TRAIN_DISHES)
    else:
      dishes = lambda: rng.choice(
          HELD_OUT_DISHES if rng.random() < HELD_OUT_SHARE else TRAIN_DISHES)
    splits[split] = [review(rng, dishes) for _ in range(size)]
  return splits


def corpus_documents(count, seed=2026, reviews_per_document=6):
  """Unlabelled reviews for pretraining: documents of one review a line.

  They name every dish, held-out ones included, as a user's own review
  corpus would: pretraining text carries no tags, and the tagger's dev F1
  on held-out dishes still measures what fine-tuning taught it.
  """
  rng = random.Random(seed)
  dishes = TRAIN_DISHES + HELD_OUT_DISHES
  pick = lambda: rng.choice(dishes)
  return [[review(rng, pick)[0] for _ in range(reviews_per_document)]
          for _ in range(count // reviews_per_document)]


def csv_text(rows, with_dishes=True):
  """The CSV file of one split."""
  out = io.StringIO()
  writer = csv.writer(out, lineterminator="\n")
  writer.writerow([TEXT_COLUMN, ENTITY_COLUMN] if with_dishes
                  else [TEXT_COLUMN])
  for review, dishes in rows:
    writer.writerow([review, ";".join(dishes)] if with_dishes else [review])
  return out.getvalue()


def write_dataset(data_dir, seed=12345):
  """Writes train.csv, dev.csv and test.csv; returns {split: path}."""
  os.makedirs(data_dir, exist_ok=True)
  paths = {}
  for split, rows in generate(seed).items():
    paths[split] = os.path.join(data_dir, f"{split}.csv")
    write_text_atomically(paths[split],
                          csv_text(rows, with_dishes=split != "test"))
  return paths


def held_out_scores(eval_predictions_file):
  """Span precision / recall / F1 on the dishes held out of training.

  Reads run_token_classification's eval_predictions.txt (word, gold tag,
  predicted tag; sentences separated by blank lines). Gold spans are the
  mentions of held-out dishes; predicted spans are all predicted spans but
  those that exactly match a mention of a training dish (found or not, those
  are scored by the overall dev F1). So a tagger that only memorised the
  training dishes scores 0 here, and one that tags every noun is punished
  for it.
  """
  from albert_tf.tasks import metrics  # pylint: disable=g-import-not-at-top
  held_out = set(HELD_OUT_DISHES)
  gold_count = predicted_count = correct = 0
  with open(eval_predictions_file, encoding="utf-8") as f:
    blocks = f.read().strip().split("\n\n")
  for block in blocks:
    rows = [line.split("\t") for line in block.splitlines() if line]
    if not rows:
      continue
    words = [row[0] for row in rows]
    gold = {(first, last): " ".join(words[first:last + 1]).lower()
            for _, first, last in metrics.get_entities([r[1] for r in rows])}
    predicted = {(first, last) for _, first, last in
                 metrics.get_entities([r[2] for r in rows])}
    held_gold = {span for span, text in gold.items() if text in held_out}
    predicted -= {span for span, text in gold.items()
                  if text not in held_out}
    gold_count += len(held_gold)
    predicted_count += len(predicted)
    correct += len(predicted & held_gold)
  precision = correct / predicted_count if predicted_count else 0.0
  recall = correct / gold_count if gold_count else 0.0
  f1 = (2 * precision * recall / (precision + recall)
        if precision + recall else 0.0)
  return {"precision": precision, "recall": recall, "f1": f1,
          "mentions": gold_count}
