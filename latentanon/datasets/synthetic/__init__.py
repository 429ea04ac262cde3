"""Synthetic privacy/utility video benchmark: every suite of latentanon's evaluation, generated in official layouts.

    python -m latentanon.datasets.synthetic --out data/synthetic --preset default --seed 0
    from latentanon.datasets.synthetic import generate
    summary = generate("data/synthetic", preset="small", seed=0)   # {"suites": {...}, "seconds": ...}

Articulated actors in varied scenes carry seven private attributes as static appearance (VISPR-1 ids, see
:mod:`.world`) and perform actions defined only by motion: every action moves the same joints with the same
amplitude distributions and independent uniform phases, and differs only in per-joint frequencies, so a single
frame carries no information about the action while a clip does. Suites (root folders as in docs/datasets.md):
``ucf101``/``hmdb51``/``kinetics400`` (trimmed clips, the same files), ``vispr`` (images), ``thumos14``
(untrimmed), ``ucf_crime``/``xd_violence``/``shanghaitech`` (anomalies), ``casia_b`` (gait), ``ntu60`` and
``toyota_smarthome`` (gender bias). Every root also holds ``synthetic_meta.json`` with the private attributes,
subject, gender and action of every video. See docs/synthetic.md.

Builds are deterministic by seed (byte-identical annotation files, identical decoded frames), atomic per file and
resumable per suite. Measured on 2 CPU cores with 2 workers, while another job shared them: preset ``small``
(every suite, 35 MB) in 19-38 s; preset ``default`` (432 MB) in 6.9 min wall, 7.6 CPU-minutes (about 4 min on two
free cores). The test suite builds the ``tiny`` preset (64 px, every suite) in about 5 s.
"""

from latentanon.datasets.synthetic.build import PRESETS, Config, generate, main
from latentanon.datasets.synthetic.suites import ROOTS, SUITES
from latentanon.datasets.synthetic.world import ATTRIBUTES, CLASSES

__all__ = ["ATTRIBUTES", "CLASSES", "Config", "PRESETS", "ROOTS", "SUITES", "generate", "main"]
