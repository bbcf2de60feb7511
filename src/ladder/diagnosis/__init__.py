"""Diagnosis and recommendation: what kind of errors remain, which rung to use, what to try next.

Reads the store (and, for the teacher, calls a backend from the climb). Used by the report,
the `ladder recommend` command and the climb's early stop.
"""

from ladder.diagnosis.classify import CLASSES, Diagnosis, classify
from ladder.diagnosis.diagnose import RungDiagnosis, diagnose
from ladder.diagnosis.judge import SUFFICIENCY, Judge, ThinAnswerHeuristic
from ladder.diagnosis.recommend import AdviceOptions, recommend

__all__ = ["CLASSES", "AdviceOptions", "Diagnosis", "Judge", "RungDiagnosis", "ThinAnswerHeuristic",
           "SUFFICIENCY", "classify", "diagnose", "recommend"]
