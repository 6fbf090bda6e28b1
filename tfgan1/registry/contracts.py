"""What a plugin of each kind must offer, and the optional hooks the core reads.

Declared once, here: `check` tests a built plugin's required methods (their
arguments too) when it is built, not at the first train step, and `hook` reads
an optional hook with its declared default, so no module guesses at plugins
with a `getattr` of its own.
"""
import dataclasses
import inspect
from typing import Any, Mapping, Optional, Tuple

from tfgan1.errors import UserError


@dataclasses.dataclass(frozen=True)
class Contract:
  """`required`: (method, positional args); method None: the plugin is called.
  `hooks`: optional attribute or method -> its default when absent."""
  required: Tuple[Tuple[Optional[str], Tuple[str, ...]], ...] = ()
  hooks: Mapping[str, Any] = dataclasses.field(default_factory=dict)


def _nothing(*unused_args):
  return None


CONTRACTS = {
    # L_D and L_G from D's logits (float32). generator_needs_real: L_G reads
    # D(x) too (relativistic). after_discriminator_update(D): after every D
    # update (WGAN's clipping). needs_eager: refused by tf1_graph. output_columns:
    # D's outputs per sample the family reads (acgan: 2, the ACGAN head's; None:
    # several, as many as D's head gives). reads_labels: a batch-level family
    # (d2dce) whose terms compare the samples of a batch by class; its losses are
    # then called with real_labels= and fake_labels= (int [batch], None when
    # the data has none) beside the logits.
    "loss": Contract(
        required=(("discriminator_loss", ("real_logits", "fake_logits")),
                  ("generator_loss", ("fake_logits", "real_logits"))),
        hooks={"generator_needs_real": False, "after_discriminator_update": _nothing,
               "needs_eager": False, "output_columns": 1, "reads_labels": False}),
    # penalty(d_call, real, fake, seed) -> scalar; d_call(x) gives D's logits.
    # side: "d" (the default) trains D only; "g" makes it a generator penalty.
    # state: {name: tf.Variable} kept in the run's checkpoint; after_step(metrics,
    # ok): after every step (ok: it was kept), to move that state; the penalty's
    # value must read the state only, so every gradient call of a step agrees.
    # reads_noise: also called with noise= (the step's noise, labels apart) and
    # fake_scores= (fn(noise) -> D's logits on stop-gradient G(noise), the step's
    # fake labels): zCR's D term. reports: names of extra scalars; the call then
    # returns (value, {name: scalar}), logged as penalty/<key>/<name> and seen by
    # after_step in its metrics (0 on steps a lazy `every` skips).
    "penalty": Contract(required=((None, ("d_call", "real", "fake", "seed")),),
                        hooks={"needs_eager": False, "side": "d", "state": {},
                               "after_step": _nothing, "reads_noise": False,
                               "reports": ()}),
    # A penalty with side "g": penalty(generator, z, seed) -> scalar, added to
    # L_G; `generator` is G's Keras model, `z` the step's noise (or (noise,
    # labels)). It must not read D's weights: only G's may reach it. Its state,
    # after_step and reports hooks are the D penalty's.
    "generator_penalty": Contract(required=((None, ("generator", "z", "seed")),),
                                  hooks={"needs_eager": False, "state": {},
                                         "after_step": _nothing, "reports": ()}),
    # generator(keras, spec, latent_dim, **kw) and discriminator(keras, spec, **kw)
    # build Keras models; a layer with `tfgan1_after_update()` refreshes its
    # state once per D update (spectral norm's power iteration, in D and G).
    # batch_coupled(discriminator kwargs): why D's logits read other samples
    # (minibatch std), else None; the `shared` one-step form is refused then.
    # tf1_functions: a pair of plain TF1 functions (`tfgan1.registry.tf1`), whose
    # Keras builders refuse; only a backend whose Supports allow them builds them.
    "architecture": Contract(required=(("generator", ("keras", "spec", "latent_dim")),
                                       ("discriminator", ("keras", "spec"))),
                             hooks={"needs_eager": False, "batch_coupled": _nothing,
                                    "tf1_functions": False}),
    # dataset(batch_size, seed) -> an endless tf.data.Dataset; `spec` a DataSpec.
    # render(samples) -> a uint8 picture of `render_samples` samples;
    # class_probs: the class frequencies fake labels are drawn from;
    # default_evaluators: names or {name, **kwargs} run when eval.metrics is unset.
    "dataset": Contract(required=(("dataset", ("batch_size", "seed")),),
                        hooks={"render": None, "render_samples": 64, "class_probs": None,
                               "default_evaluators": ()}),
    # evaluate(samples[, labels=...]) -> {metric: float}, samples in data coordinates.
    "evaluator": Contract(required=(("evaluate", ("samples",)),)),
    # policy: a Keras dtype-policy name; loss_scale: None or {initial_scale,
    # growth_interval} (one dynamic scale per step); verify_factor: how much looser
    # --verify's tolerance is than float32's.
    "precision": Contract(hooks={"policy": None, "loss_scale": None, "verify_factor": 1.0}),
}


def hook(obj, kind, name):
  """`obj`'s optional hook `name`, or the default the `kind` contract declares."""
  return getattr(obj, name, CONTRACTS[kind].hooks[name])


def _needs(kind):
  return " and ".join(f"{m or 'to be callable as'}({', '.join(a)})"
                      for m, a in CONTRACTS[kind].required)


def check(field, name, obj, kind, only=None):
  """A built plugin has every method its kind needs (of `only`, when given),
  taking the arguments the engine passes. Returns `obj`."""
  for method, args in CONTRACTS[kind].required:
    if only is not None and method not in only:
      continue
    fn = obj if method is None else getattr(obj, method, None)
    what = f"{method}({', '.join(args)})" if method else f"a callable ({', '.join(args)})"
    if not callable(fn):
      raise UserError(f"{field}: {kind} plugin {name!r} has no {what}; a {kind} "
                      f"plugin needs {_needs(kind)}")
    try:
      inspect.signature(fn).bind(*args)
    except TypeError as e:
      raise UserError(f"{field}: {kind} plugin {name!r}: {what} cannot be called "
                      f"with {len(args)} arguments ({e}); a {kind} plugin needs "
                      f"{_needs(kind)}") from None
    except ValueError:  # no signature (a builtin): trust it
      pass
  return obj
