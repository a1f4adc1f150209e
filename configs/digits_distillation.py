"""Knowledge distillation on the 8x8 digits: a small MLP student learns from the digits_mlp teacher.

Command:  .venv/bin/python -m launch.train --config configs/digits_mlp.py --workdir runs/digits_mlp
          .venv/bin/python -m launch.train --config configs/digits_distillation.py \\
              --workdir runs/digits_distillation
          .venv/bin/python -m launch.train --config configs/digits_distillation.py \\
              --workdir runs/digits_distillation_off --config.distillation.teacher_workdir=''
          (the first trains the teacher; the last is the same student without distillation)
Expected: student (MLP 64-32-10, 2,410 parameters; teacher 64-256-128-10, 50,826, test accuracy
          0.983 at its latest step 800) test accuracy 0.942 distilled (T=4, alpha=0.5) vs 0.956
          without distillation, each from its best state by validation accuracy (steps 380 and
          500 of 800). Distillation does not help this student on 1,293 training digits: seeds
          0-2 at the final step give 0.947/0.933/0.944 distilled vs 0.958/0.953/0.958 without.
Time:     ~40 s distilled (teacher restore included), ~35 s without, ~35 s for the teacher, on
          the shared 2-core CPU (including compilation).
Curriculum: LOSS-26 (knowledge distillation, Hinton et al. 2015: alpha T^2 KL(softmax(t/T) ||
          softmax(s/T)) + (1 - alpha) CE(s, y), t and s the teacher's and student's logits;
          canonical, not from seed), ARC-2 (MLP student).
"""

import ml_collections

from configs import digits_mlp


def get_config() -> ml_collections.ConfigDict:
  c = digits_mlp.get_config()  # the teacher's config: the same data splits and training
  c.name = "digits_distillation"
  c.model.update(features=(32,), dropout_rate=0.0)
  c.distillation = ml_collections.ConfigDict(dict(  # teacher_workdir='' turns distillation off
      teacher_config="configs/digits_mlp.py", teacher_workdir="runs/digits_mlp",
      temperature=4.0, alpha=0.5))
  c.eval.reports = ("per_class",)
  c.early_stopping.update(metric="accuracy", mode="max")
  return c
