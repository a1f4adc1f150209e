"""Test helpers for dlcore users: hypothesis strategies and a finite-difference gradient checker.

These are what dlcore's own tests use, so that researchers can property-test their modules the
same way:

  from hypothesis import given, settings
  import chex
  from dlcore import testing as dt

  class MyLossTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    @settings(max_examples=10, deadline=None)
    @given(dt.logits_and_labels(num_classes=(2, 5), batch=(1, 8)))
    def test_non_negative(self, case):
      logits, labels = case
      loss = self.variant(my_loss)(logits, labels)
      chex.assert_shape(loss, labels.shape)
      assert (loss >= 0).all()

  def test_my_module_gradients():
    model = MyModule(...)
    variables = model.init(jax.random.key(0), x)
    dt.check_module_grads(model, variables, x)   # raises AssertionError naming the bad parameter

Strategies (need `hypothesis`, part of the `test` extra: `pip install 'dlcore[test]'`; it is
imported when a strategy is built, so `import dlcore.testing` works without it):
  shapes(min_dims, max_dims, min_side, max_side)      array shapes (tuples of ints)
  arrays(shape, dtype, min_value, max_value, ...)     NumPy arrays (finite floats by default)
  pytrees(leaves, max_depth, min_leaves, max_leaves)  nested dicts / tuples / lists of `leaves`
  logits_and_labels(num_classes, batch, ...)          (logits (B, K) float32, labels (B,) int32)
  prng_keys()                                         typed JAX PRNG keys from hypothesis seeds

Gradient checks (no hypothesis needed):
  check_grads(fn, args, order=1, modes=('rev',), eps, rtol, atol, argnums, argnames)
  check_module_grads(module, variables, inputs, loss_fn=None, wrt='params', wrt_inputs=False)

Both compare autodiff against central finite differences, one random unit direction per array
leaf (a directional-derivative check: two extra function evaluations per leaf), by default in
float64 inside `jax.enable_x64(True)`, and raise one AssertionError listing every leaf that fails,
by path (e.g. "params['hidden_0']['kernel']"). `order=2` also checks second derivatives
(derivatives of the directional derivative: Hessian-vector products). Checks near a kink (ReLU at
0, max-pool ties, |x| at 0) can fail legitimately; use smooth activations (tanh) to check a model.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "shapes", "arrays", "pytrees", "logits_and_labels", "prng_keys", "check_grads",
    "check_module_grads", "GradCheckResult"
]

# ------------------------------------------------------------------ hypothesis strategies


def _hypothesis():
  """(strategies, extra.numpy), or an ImportError saying how to install hypothesis."""
  try:
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
  except ImportError as e:  # pragma: no cover - exercised in a subprocess test
    raise ImportError("dlcore.testing strategies need hypothesis, which is in dlcore's 'test' "
                      "extra: pip install 'dlcore[test]' (or pip install hypothesis).") from e
  return st, hnp


def _ints(value, name: str):
  """An int, a (lo, hi) pair (inclusive) or a strategy -> a strategy of ints."""
  st, _ = _hypothesis()
  if isinstance(value, st.SearchStrategy):
    return value
  if isinstance(value, int):
    return st.just(value)
  if isinstance(value, tuple) and len(value) == 2:
    return st.integers(int(value[0]), int(value[1]))
  raise TypeError(f"{name} must be an int, a (low, high) tuple or a hypothesis strategy; "
                  f"got {value!r}.")


def shapes(min_dims: int = 1, max_dims: int = 3, min_side: int = 1, max_side: int = 5):
  """Array shapes: tuples of `min_dims..max_dims` sizes, each in `min_side..max_side`.

  Small sides by default: every new shape is a new jit compilation in a property test.
  """
  _, hnp = _hypothesis()
  return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                          max_side=max_side)


def arrays(shape=None, dtype=np.float32, *, min_value: float = -10.0, max_value: float = 10.0,
           allow_nan: bool = False, allow_infinity: bool = False, allow_subnormal: bool = False,
           elements=None, unique: bool = False):
  """NumPy arrays of `dtype` with elements in [min_value, max_value].

  `shape`: None (any of `shapes()`), an int or tuple (fixed), or a strategy of shapes, e.g.
  `st.shared(shapes(), key='s')` to give several arrays one shape. Float elements are finite
  and normal by default (XLA on CPU flushes subnormals to zero, NumPy does not); integer and
  bool dtypes are supported (bounds cast to int). bfloat16 arrays are drawn as float32 and
  cast. `elements` overrides the element strategy.
  """
  st, hnp = _hypothesis()
  if shape is None:
    shape = shapes()
  elif isinstance(shape, int):
    shape = (shape,)
  dtype = jnp.dtype(dtype)
  draw_dtype = np.dtype(np.float32) if dtype == jnp.bfloat16 else np.dtype(dtype)
  if elements is None:
    if draw_dtype == np.bool_:
      elements = st.booleans()
    elif np.issubdtype(draw_dtype, np.integer):
      info = np.iinfo(draw_dtype)
      elements = st.integers(max(int(np.ceil(min_value)), int(info.min)),
                             min(int(np.floor(max_value)), int(info.max)))
    elif np.issubdtype(draw_dtype, np.floating):
      elements = st.floats(min_value, max_value, width=draw_dtype.itemsize * 8,
                           allow_nan=allow_nan, allow_infinity=allow_infinity,
                           allow_subnormal=allow_subnormal)
    else:
      raise TypeError(f"arrays() supports float, int and bool dtypes, not {dtype}.")
  strategy = hnp.arrays(draw_dtype, shape, elements=elements, unique=unique)
  if dtype != draw_dtype:
    strategy = strategy.map(lambda a: a.astype(dtype))
  return strategy


def pytrees(leaves=None, *, max_depth: int = 2, min_leaves: int = 1, max_leaves: int = 4,
            containers: Sequence[str] = ("dict", "tuple", "list")):
  """Pytrees of nested dicts / tuples / lists with `min_leaves..max_leaves` leaves.

  `leaves` is a strategy for each leaf (default: `arrays()`); `max_depth` bounds the container
  nesting (0 gives a bare leaf). Dict keys are 'a', 'b', ... Every container is non-empty, so
  `jax.tree.leaves(tree)` has exactly the drawn number of leaves.
  """
  st, _ = _hypothesis()
  leaves = arrays() if leaves is None else leaves
  if not 1 <= min_leaves <= max_leaves:
    raise ValueError(f"Need 1 <= min_leaves <= max_leaves, got {min_leaves}, {max_leaves}.")
  if max_depth == 0 and max_leaves > 1:
    max_leaves = min_leaves = 1  # a bare leaf is the only depth-0 tree
  unknown = set(containers) - {"dict", "tuple", "list"}
  if unknown or not containers:
    raise ValueError(f"containers must be a non-empty subset of dict, tuple, list; got "
                     f"{tuple(containers)}.")

  @st.composite
  def strategy(draw):

    def build(depth, n):
      """A tree with exactly n leaves and at most `depth` container levels."""
      if depth == 0 or (n == 1 and draw(st.booleans())):
        return draw(leaves)
      k = draw(st.integers(1, min(n, 4)))  # children; each gets >= 1 leaf
      sizes, left = [], n
      for i in range(k - 1):
        size = draw(st.integers(1, left - (k - 1 - i)))
        sizes.append(size)
        left -= size
      sizes.append(left)
      if depth == 1:  # children must be leaves
        sizes = [1] * n
      children = [build(depth - 1, s) for s in sizes]
      kind = draw(st.sampled_from(tuple(containers)))
      if kind == "dict":
        return {chr(ord("a") + i): c for i, c in enumerate(children)}
      return tuple(children) if kind == "tuple" else list(children)

    return build(max_depth, draw(st.integers(min_leaves, max_leaves)))

  return strategy()


def logits_and_labels(num_classes=(2, 6), batch=(1, 8), *, min_value: float = -10.0,
                      max_value: float = 10.0, one_hot: bool = False):
  """(logits, labels): float32 logits (B, K) and int32 class ids (B,) in [0, K).

  `num_classes` and `batch` are ints, (low, high) ranges or strategies. `one_hot=True` gives
  float32 one-hot labels (B, K) instead.
  """
  st, hnp = _hypothesis()

  @st.composite
  def strategy(draw):
    k = draw(_ints(num_classes, "num_classes"))
    b = draw(_ints(batch, "batch"))
    logits = draw(arrays((b, k), np.float32, min_value=min_value, max_value=max_value))
    labels = draw(hnp.arrays(np.int32, (b,), elements=st.integers(0, k - 1)))
    if one_hot:
      labels = np.eye(k, dtype=np.float32)[labels]
    return logits, labels

  return strategy()


def prng_keys(impl: str | None = None):
  """Typed JAX PRNG keys, `jax.random.key(seed)` for a hypothesis-drawn seed (shrinks to 0)."""
  st, _ = _hypothesis()
  return st.integers(0, 2**32 - 1).map(lambda seed: jax.random.key(seed, impl=impl))


# ------------------------------------------------------------------ gradient checks


@dataclasses.dataclass(frozen=True)
class GradCheckResult:
  """One comparison: the derivative of order `order` along a random unit direction in `path`."""
  path: str
  order: int
  mode: str
  autodiff: float
  numeric: float
  tolerance: float

  @property
  def ok(self) -> bool:
    return bool(abs(self.autodiff - self.numeric) <= self.tolerance)

  def describe(self) -> str:
    diff = abs(self.autodiff - self.numeric)
    ratio = self.autodiff / self.numeric if self.numeric else float("inf")
    return (f"{self.path}: autodiff {self.autodiff:.8g} vs finite difference {self.numeric:.8g} "
            f"(|diff| {diff:.3g} > tol {self.tolerance:.3g}; ratio {ratio:.4g})")


_MODES = ("rev", "fwd")
_DEFAULTS = {True: dict(eps=1e-5, rtol=1e-5, atol=1e-8),  # float64
             False: dict(eps=3e-3, rtol=3e-2, atol=1e-3)}  # the inputs' dtype (float32)


def _x64_context(enabled: bool):
  if not enabled:
    return contextlib.nullcontext()
  if hasattr(jax, "enable_x64"):  # jax >= 0.8: a config State usable as a context manager
    return jax.enable_x64(True)
  from jax.experimental import enable_x64  # pragma: no cover - older JAX
  return enable_x64()


def _is_float(x) -> bool:
  """Whether a pytree leaf is a real floating-point array or number (keys and ints are not)."""
  dtype = getattr(x, "dtype", None)
  if dtype is None:
    try:
      dtype = np.asarray(x).dtype
    except (TypeError, ValueError):
      return False
  try:
    return bool(jnp.issubdtype(dtype, jnp.floating))
  except TypeError:
    return False


def check_grads(fn: Callable, args, *, order: int = 1, modes: Sequence[str] = ("rev",),
                eps: float | None = None, rtol: float | None = None, atol: float | None = None,
                argnums: int | Sequence[int] | None = None,
                argnames: Sequence[str] | None = None, x64: bool = True,
                seed: int = 0) -> list[GradCheckResult]:
  """Check `fn`'s derivatives against central finite differences; raise AssertionError if off.

  fn: a function of the positional `args` (a tuple; a non-tuple is one argument) returning an
    array or pytree of arrays (a non-scalar output is projected on a fixed random cotangent).
  order: 1 checks first derivatives; 2 also the derivatives of the directional derivative
    (Hessian-vector products), and so on.
  modes: 'rev' (jax.grad / vjp, the default) and/or 'fwd' (jax.jvp). A `jax.custom_vjp`
    function supports only 'rev'.
  argnums: the arguments to differentiate (default: all); their floating leaves are checked,
    other leaves (ints, bools, keys) stay fixed. argnames: names used in failure paths
    (default 'args[0]', 'args[1]', ...).
  x64: cast the differentiated leaves to float64 and run in `jax.enable_x64(True)` (default).
    If fn still returns a lower-precision float then, a TypeError says so: pass x64=False
    (looser default tolerances) or make fn compute in float64.
  eps, rtol, atol: step size and tolerance, |ad - fd| <= atol + rtol * max(|ad|, |fd|);
    defaults 1e-5, 1e-5, 1e-8 in float64 and 3e-3, 3e-2, 1e-3 otherwise.
  seed: for the random directions and output cotangent.

  Each floating leaf (array) gets its own random unit direction v, and d/dt s(x + t v) at 0
  from autodiff is compared with (s(x + eps v) - s(x - eps v)) / (2 eps). Returns the list of
  comparisons (all passed); raises one AssertionError naming every leaf path that failed.
  """
  if order < 1:
    raise ValueError(f"order must be >= 1, got {order}.")
  bad_modes = [m for m in modes if m not in _MODES]
  if bad_modes or not modes:
    raise ValueError(f"modes must be a non-empty subset of {_MODES}, got {tuple(modes)}.")
  args = args if isinstance(args, tuple) else (args,)
  if argnums is None:
    argnums = tuple(range(len(args)))
  elif isinstance(argnums, int):
    argnums = (argnums,)
  argnums = tuple(argnums)
  if argnames is None:
    argnames = [f"args[{i}]" for i in range(len(args))]
  if len(argnames) != len(args):
    raise ValueError(f"argnames has {len(argnames)} names for {len(args)} arguments.")
  d = _DEFAULTS[bool(x64)]
  eps = d["eps"] if eps is None else eps
  rtol = d["rtol"] if rtol is None else rtol
  atol = d["atol"] if atol is None else atol

  with _x64_context(x64):
    with_paths, treedef = jax.tree_util.tree_flatten_with_path(tuple(args[i] for i in argnums))
    leaves = [leaf for _, leaf in with_paths]
    positions = [j for j, leaf in enumerate(leaves) if _is_float(leaf)]
    if not positions:
      raise ValueError("check_grads found no floating-point leaves to differentiate in the "
                       f"arguments {[argnames[i] for i in argnums]}.")
    names = [argnames[argnums[with_paths[j][0][0].idx]] + jax.tree_util.keystr(
        with_paths[j][0][1:]) for j in positions]
    cast = jnp.float64 if x64 else None
    x = [jnp.asarray(leaves[j], cast) for j in positions]

    def call(xs):
      full = list(leaves)
      for j, v in zip(positions, xs):
        full[j] = v
      chosen = jax.tree_util.tree_unflatten(treedef, full)
      all_args = list(args)
      for i, a in zip(argnums, chosen):
        all_args[i] = a
      return fn(*all_args)

    out = jax.eval_shape(call, x)
    out_leaves = [o for o in jax.tree.leaves(out) if jnp.issubdtype(o.dtype, jnp.floating)]
    if not out_leaves:
      raise ValueError("check_grads: fn returned no floating-point output to differentiate.")
    low = sorted({str(o.dtype) for o in out_leaves if o.dtype != jnp.float64})
    if x64 and low:
      raise TypeError(
          f"check_grads: fn returned {', '.join(low)} outputs although its inputs are float64 "
          f"under jax.enable_x64: it computes in lower precision, where float64 finite "
          f"differences mean nothing. Make it compute in float64 (for a Flax module, "
          f"check_module_grads clones it with dtype='float64'), or pass x64=False.")
    rng = np.random.default_rng(seed)
    single_scalar = len(out_leaves) == 1 and out_leaves[0].shape == ()
    cotangents = [jnp.asarray(1.0 if single_scalar else rng.standard_normal(o.shape), o.dtype)
                  for o in out_leaves]

    def scalar(xs):
      outs = [o for o in jax.tree.leaves(call(xs)) if jnp.issubdtype(o.dtype, jnp.floating)]
      return sum(jnp.vdot(u, o.astype(u.dtype)) for u, o in zip(cotangents, outs))

    results = _check_scalar(scalar, x, names, order, tuple(modes), eps, rtol, atol, rng)
  failed = [r for r in results if not r.ok]
  if failed:
    lines = [f"Gradient check failed for {len(failed)} of {len(results)} comparisons "
             f"(central differences, eps={eps:g}, rtol={rtol:g}, atol={atol:g}, "
             f"{'float64' if x64 else 'input precision'}):"]
    for r in failed:
      lines.append(f"  order {r.order}, mode {r.mode!r}, {r.describe()}")
    raise AssertionError("\n".join(lines))
  return results


def _unit(rng, like):
  v = rng.standard_normal(like.shape)
  norm = np.linalg.norm(v)
  return jnp.asarray(v / norm if norm > 0 else v, like.dtype)


def _jit(fn):
  """jax.jit, on CPU with XLA's LLVM optimisations off: these functions run a handful of times,
  so compiling fast (2-3x faster here) matters more than running fast."""
  if jax.default_backend() != "cpu":
    return jax.jit(fn)
  return jax.jit(fn, compiler_options={"xla_backend_optimization_level": 0,
                                       "xla_llvm_disable_expensive_passes": True})


def _check_scalar(scalar, x, names, order, modes, eps, rtol, atol, rng, level=1):
  """Order-`level` comparisons of `scalar` (a function of the list x), then recurse.

  Three small jitted functions (compiled once each, whatever the number of leaves) take the
  perturbation as arguments: the value at x + step * d restricted to the leaves selected by
  `select` (a 0/1 vector), the forward-mode derivative along it, and all reverse-mode
  directional derivatives from one gradient.
  """
  directions = [_unit(rng, leaf) for leaf in x]
  n = len(x)

  def along(ds, select, step):
    return [(select[j] * step).astype(d.dtype) * d for j, d in enumerate(ds)]

  value = _jit(lambda xs, ds, select, step: scalar(
      [a + b for a, b in zip(xs, along(ds, select, step))]))
  forward = _jit(lambda xs, ds, select: jax.jvp(scalar, (xs,), (along(ds, select, 1.0),))[1])
  reverse = _jit(lambda xs, ds: jnp.stack(
      [jnp.vdot(g, d) for g, d in zip(jax.grad(scalar)(xs), ds)]))
  dtype = x[0].dtype
  rev = np.asarray(reverse(x, directions)) if "rev" in modes else None
  results = []
  for i, name in enumerate(names):
    select = jnp.asarray(np.eye(n)[i], dtype)
    plus, minus = (value(x, directions, select, jnp.asarray(s * eps, dtype)) for s in (1, -1))
    numeric = (float(plus) - float(minus)) / (2 * eps)
    for mode in modes:
      ad = float(rev[i]) if mode == "rev" else float(forward(x, directions, select))
      tol = atol + rtol * max(abs(ad), abs(numeric))
      results.append(GradCheckResult(name, level, mode, ad, numeric, tol))
  if level < order:
    w = [_unit(rng, leaf) for leaf in x]  # one direction over all leaves for the derivative
    for mode in modes:
      if mode == "rev":
        deriv = lambda xs: sum(jnp.vdot(a, b) for a, b in zip(jax.grad(scalar)(xs), w))
      else:
        deriv = lambda xs: jax.jvp(scalar, (xs,), (w,))[1]
      results += _check_scalar(deriv, x, names, order, (mode,), eps, rtol, atol, rng, level + 1)
  return results


def _float64_module(module):
  """A clone of a Flax module computing in float64: its `dtype`/`param_dtype` fields set so."""
  changes = {}
  for f in dataclasses.fields(module):
    if f.name in ("dtype", "param_dtype") and getattr(module, f.name) is not None:
      changes[f.name] = "float64" if isinstance(getattr(module, f.name), str) else jnp.float64
  return module.clone(**changes) if changes else module


def check_module_grads(module, variables, inputs, *, loss_fn: Callable | None = None,
                       wrt: str = "params", wrt_inputs: bool = False,
                       apply_kwargs: dict | None = None, x64: bool = True,
                       **check_kwargs) -> list[GradCheckResult]:
  """`check_grads` for a Flax module: d loss_fn(module.apply(variables, *inputs)) / d params.

  module, variables: a Flax module and its variables (from `module.init`).
  inputs: an array, or a tuple of positional arguments to `module.apply`.
  loss_fn: maps the module's output to the checked value (default: the output itself, projected
    on a random cotangent, so every output counts).
  wrt: the variable collection to differentiate ('params'); other collections stay fixed.
  wrt_inputs: also check the derivatives with respect to the (floating) inputs.
  apply_kwargs: keyword arguments of `module.apply`, e.g. {'train': True, 'rngs': {...},
    'mutable': ['batch_stats']} (a fixed rng gives the same dropout mask on every evaluation).
  x64: run in float64; the module is cloned with dtype / param_dtype 'float64' where it has
    those fields (submodules built with an explicit float32 dtype are not; check_grads then
    reports the low-precision output).
  check_kwargs: order, modes, eps, rtol, atol, seed (see `check_grads`).

  Failure paths read like "params['hidden_0']['kernel']" or "inputs[0]".
  """
  inputs = inputs if isinstance(inputs, tuple) else (inputs,)
  if wrt not in variables:
    raise ValueError(f"variables have no {wrt!r} collection; they have {sorted(variables)}.")
  apply_kwargs = dict(apply_kwargs or {})
  model = _float64_module(module) if x64 else module
  rest = {k: v for k, v in variables.items() if k != wrt}

  def fn(params, *xs):
    out = model.apply({**rest, wrt: params}, *xs, **apply_kwargs)
    return out if loss_fn is None else loss_fn(out)

  argnums = tuple(range(1 + len(inputs))) if wrt_inputs else (0,)
  names = [wrt] + [f"inputs[{i}]" for i in range(len(inputs))]
  return check_grads(fn, (variables[wrt], *inputs), argnums=argnums, argnames=names, x64=x64,
                     **check_kwargs)
