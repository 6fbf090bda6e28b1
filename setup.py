"""tfgan1: GAN training with custom TensorFlow 2 loops, one-step losses and plugins."""
import setuptools

# The built-in plugins, each kind a package found through the `tfgan1.plugins`
# entry points as third-party plugins are.
_PLUGIN_PACKAGES = ["losses", "penalties", "architectures", "datasets", "precision",
                    "evaluators"]

setuptools.setup(
    name="tfgan1",
    version="0.2.0",
    description="GAN training with custom TensorFlow 2 loops, one-step losses and plugins",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=setuptools.find_packages(include=["tfgan1", "tfgan1.*"]),
    install_requires=[
        "tensorflow>=2.21",
        "tf_keras",
        "absl-py",
        "pyyaml",
        "tensorboard",
        "numpy",
        "scipy",
    ],
    # `[test]`: pytest-xdist runs the suite in two processes; matplotlib draws the
    # eval-plot test's PNG. `[gpu]`: TensorFlow with its CUDA libraries, for NVIDIA
    # machines; the plain install stays the CPU-only wheel.
    extras_require={"test": ["pytest>=7", "pytest-xdist", "matplotlib"],
                    "tfds": ["tensorflow-datasets"],
                    "plot": ["matplotlib"],
                    "gpu": ["tensorflow[and-cuda]>=2.21"],
                    "profile": ["tensorboard-plugin-profile"],
                    # `[docs]`: the user guide as a site (`mkdocs build --strict`).
                    "docs": ["mkdocs>=1.6", "mkdocs-material>=9", "mkdocstrings[python]>=0.25"]},
    entry_points={
        "tfgan1.plugins": [f"{p} = tfgan1.plugins.{p}" for p in _PLUGIN_PACKAGES],
        "console_scripts": ["tfgan1-run = tfgan1.run:entry"],
    },
)
