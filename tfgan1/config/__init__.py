"""The run config: YAML read once into frozen dataclasses, checked at load (no TensorFlow).

`load(path)`, `from_dict(raw)` and `to_dict(config)` are the whole way in and out;
`sections` holds the dataclasses, `schema` the field-by-field checks, `yamlio`
the YAML reading, `schedules` the learning-rate schedule syntax.
"""
from tfgan1.config.schema import build, check_value
from tfgan1.config.sections import (AUGMENT_OPS, AugmentConfig, BestConfig, Config,
                                    DistributeConfig, EmaConfig, EvalConfig, NoiseConfig,
                                    OptimizerSpec, PenaltySpec, PluginSpec, TrainConfig,
                                    from_dict, load, network_optimizers, to_dict)

__all__ = ["AUGMENT_OPS", "AugmentConfig", "BestConfig", "Config", "DistributeConfig",
           "EmaConfig", "EvalConfig", "NoiseConfig", "OptimizerSpec", "PenaltySpec",
           "PluginSpec", "TrainConfig", "build", "check_value", "from_dict", "load",
           "network_optimizers", "to_dict"]
