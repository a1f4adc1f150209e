"""The hyperparameter study of the text-generation project (002 §11.3): for language-model runs
of configs/shakespeare_generation.py that differ in model.hidden, a table and a plot of
validation nats per character vs hidden size, and of each decoding method's log-probability per
character, character BLEU-4 and distinct-2 vs sampling temperature.

  python -m benchmarks.generation_study runs/shakespeare_generation_h128 \
      runs/shakespeare_generation_h256 runs/shakespeare_generation --out runs/generation_study

Writes <out>/study.md and <out>/study.png (reads each workdir's config.json and metrics.jsonl).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import re

from dlcore.train.metric_logger import read_metrics


def last_event(events: list[dict], split: str) -> dict:
  found = [e for e in events if e.get("split") == split]
  return found[-1] if found else {}


def collect(workdir: pathlib.Path) -> dict:
  config = json.loads((workdir / "config.json").read_text())
  events = read_metrics(workdir / "metrics.jsonl")
  gen = last_event(events, "generate")
  methods = sorted({k.split("/")[0] for k in gen if "/" in k})
  return {"workdir": str(workdir), "hidden": int(config["model"]["hidden"]),
          "cell": config["model"]["cell"],
          "nats": last_event(events, "test").get("nats_per_token"),
          "methods": {m: {k.split("/")[1]: gen[k] for k in gen if k.startswith(m + "/")}
                      for m in methods}}


def temperature(method: str) -> float | None:
  m = re.fullmatch(r"sample_t([0-9.]+)", method)
  return float(m.group(1)) if m else None


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("workdirs", nargs="+", type=pathlib.Path)
  parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("runs/generation_study"))
  args = parser.parse_args(argv)
  runs = sorted((collect(w) for w in args.workdirs), key=lambda r: r["hidden"])
  methods = sorted({m for r in runs for m in r["methods"]},
                   key=lambda m: (temperature(m) is not None, temperature(m) or 0, m))
  lines = ["# Text generation study: hidden size and decoding", "",
           "| hidden | valid nats/char | " + " | ".join(
               f"{m} logp / BLEU / distinct-2" for m in methods) + " |",
           "|---" * (2 + len(methods)) + "|"]
  for r in runs:
    cells = [f"{r['methods'][m]['logprob_per_token']:.3f} / {r['methods'][m]['bleu']:.3f} / "
             f"{r['methods'][m]['distinct_2']:.3f}" if m in r["methods"] else "-"
             for m in methods]
    nats = f"{r['nats']:.4f}" if r["nats"] is not None else "-"
    lines.append(f"| {r['hidden']} | {nats} | " + " | ".join(cells) + " |")
  args.out.mkdir(parents=True, exist_ok=True)
  (args.out / "study.md").write_text("\n".join(lines) + "\n")
  print("\n".join(lines))

  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  fig, axes = plt.subplots(1, 4, figsize=(17, 3.8))
  axes[0].plot([r["hidden"] for r in runs], [r["nats"] for r in runs], "o-")
  axes[0].set(xlabel="hidden units", ylabel="validation nats / char", xscale="log", title="fit")
  for ax, key, label in zip(axes[1:], ("logprob_per_token", "bleu", "distinct_2"),
                            ("log p / char of the output", "char BLEU-4 vs truth",
                             "distinct-2")):
    for r in runs:
      temps = [(temperature(m), r["methods"][m][key]) for m in r["methods"]
               if temperature(m) is not None]
      temps.sort()
      line, = ax.plot([t for t, _ in temps], [v for _, v in temps], "o-",
                      label=f"h={r['hidden']} sampling")
      for m in ("greedy", "beam5"):
        if m in r["methods"]:
          ax.axhline(r["methods"][m][key], color=line.get_color(), ls="--" if m == "greedy"
                     else ":", lw=1)
      ax.set(xlabel="temperature", title=label)
    ax.legend(fontsize=7)
  axes[1].text(0.02, 0.02, "dashed: greedy, dotted: beam 5", transform=axes[1].transAxes,
               fontsize=7)
  fig.tight_layout()
  fig.savefig(args.out / "study.png", dpi=110)
  print(f"wrote {args.out / 'study.md'} and {args.out / 'study.png'}")


if __name__ == "__main__":
  main()
