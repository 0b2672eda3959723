"""albert_tf: ALBERT for TensorFlow 2 / Keras, faithful to the original release."""

import setuptools

# The decided stack: TF 2.20 matches TF Serving 2.20 (which links TF Text 2.20).
INSTALL_REQUIRES = [
    "tensorflow~=2.20.0",
    "tensorflow-text~=2.20.0",
    "tf-keras~=2.20.0",
    "tf-models-official==2.20.0",
    "tensorflow-hub",
    # tensorflow_hub 0.16 imports pkg_resources, which setuptools 81+ dropped.
    "setuptools<81",
    "sentencepiece",
    "absl-py",
    "numpy",
]
EXTRAS_REQUIRE = {
    # Chinese whole-word masking in create_pretraining_data.
    "zh": ["jieba"],
    # sklearn / scipy / seqeval: reference implementations the metric tests
    # compare against (run-time metrics do not use them);
    # tensorflow-serving-api: PredictRequest protos in the serving tests.
    "test": ["pytest", "hypothesis", "jieba", "scikit-learn", "scipy",
             "seqeval", "tensorflow-serving-api~=2.20.0"],
}

setuptools.setup(
    name="albert_tf",
    version="0.1.0",
    description="ALBERT for TensorFlow 2 / Keras, faithful to the original "
                "TF1 release (Google and albert_zh checkpoints).",
    packages=setuptools.find_packages(include=["albert_tf", "albert_tf.*",
                                               "tfhub_export",
                                               "tfhub_export.*"]),
    # The quick start's tiny config, flagfile and demo scripts, so that
    # `python -m albert_tf.quickstart` runs from an installed wheel.
    package_data={"albert_tf": ["quickstart_data/*"]},
    python_requires=">=3.11,<3.12",
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
    license="Apache-2.0",
)
