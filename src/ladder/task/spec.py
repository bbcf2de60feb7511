"""The task spec: what `task.yaml` may say, typed and validated (which model answers, and its
prices, in model_spec.py).

Unknown keys and wrong types fail with the YAML path of the offending value and a hint,
e.g. ``task.yaml: prices.input_per_1k: Input should be a valid number (got 'cheap')``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ladder.backends.endpoints import get_endpoint
from ladder.metrics.checks import AnyCheck
# the model specs live in model_spec.py; callers import them from here, with the rest of task.yaml
from ladder.task.model_spec import CandidateModelSpec, ModelSpec, PricedModelSpec, PriceSpec, Strict, TeacherSpec


class TaskError(Exception):
    """A task.yaml that cannot be used. `problems` are `path: message` lines."""

    def __init__(self, file: Path | str, problems: list[str]):
        self.file = str(file)
        self.problems = problems
        super().__init__("\n".join(f"{self.file}: {p}" for p in problems))


class DataSpec(Strict):
    """Data files, relative to task.yaml: chat or {input, expected} JSONL, or a CSV/TSV table of such records."""

    train: Path | None = None
    eval: Path
    dev: Path | None = Field(
        None, description="selection (dev) rows: every rung answers them with the eval rows, the recommendation and "
        "the best of a sweep are chosen on them, and the reported figures come from the eval rows alone "
        "(alternative to selection.dev_fraction)"
    )


class SelectionSpec(Strict):
    """A selection split of the eval rows: rungs are chosen on the dev rows and reported on the rest,
    so the winner's figure is not the one it was picked for (which would be optimistic)."""

    dev_fraction: float | None = Field(
        None, gt=0, lt=1, description="share of the eval rows set aside as dev rows, drawn with `seed`"
    )
    seed: int = Field(0, description="seed of the draw of dev rows")
    dev_ids: tuple[str, ...] | None = Field(
        None, description="the eval ids that are dev rows; ladder fills it in when it loads the task (from data.dev "
        "or dev_fraction) so each run records its split; give it by hand to fix the split exactly"
    )


class PromptSpec(Strict):
    system: str | None = Field(None, description="system prompt used by every rung")
    instructions: str | None = Field(
        None, description="task instructions and output format, used by the `instructed` rung"
    )


class GenerationSpec(Strict):
    max_new_tokens: int = Field(128, gt=0)
    batch_size: int | Literal["auto"] = Field(
        "auto",
        description="rows the local model generates together; auto = as many as fit a budget of prompt + new "
                    "tokens per batch (longer prompts, smaller batches), up to 64",
    )

    @field_validator("batch_size")
    @classmethod
    def _positive(cls, v: int | str) -> int | str:
        if isinstance(v, int) and v <= 0:
            raise ValueError("batch_size must be > 0 or 'auto'")
        return v

    @property
    def rows_per_batch(self) -> int | None:
        """The fixed batch size, or None for auto."""
        return None if self.batch_size == "auto" else int(self.batch_size)


TARGET_METRICS = ("form", "knowledge", "overall")
JudgeKind = Literal["rubric", "reference", "sufficiency", "pairwise"]
# the tag a judge's verdicts carry when task.yaml gives none (a rubric's: the judge's own name)
DEFAULT_JUDGE_TAG = {"reference": "knowledge", "sufficiency": "sufficiency"}


class JudgeSpec(Strict):
    """An LLM judge (tier 2): a model that reads each answer and gives a verdict, stored and scored
    like a check's. Kinds: rubric (criteria -> a 1-5 score and pass), reference (equivalent in
    meaning to the reference?), sufficiency (right but too thin against the reference?), pairwise
    (each rung's answer against the `against` rung's, asked in both orders)."""

    name: str = Field(min_length=1, description="unique among judges and checks; the name of its verdicts")
    kind: JudgeKind = Field(description="rubric | reference | sufficiency | pairwise")
    tag: str | None = Field(
        None, min_length=1, description="what its verdicts measure: form, knowledge or a name of one's own (e.g. "
        "helpfulness), usable as target.metric; default: knowledge (reference), sufficiency (sufficiency), the "
        "judge's name (rubric); not used by pairwise judges, whose verdicts are comparisons")
    model: PricedModelSpec | None = Field(
        None, description="the judge model, any model spec (local, an OpenAI-compatible endpoint, a plugin's) with "
        "its prices; default: the task's model at the task's prices")
    criteria: str | None = Field(None, min_length=1, description="rubric only: what a good answer does")
    scoring: Literal["argmax", "logprobs"] = Field(
        "argmax", description="argmax = the verdict the judge writes; logprobs = weighed by token probabilities, where "
        "the judge model exposes them (the local model does; an OpenAI-compatible endpoint when it returns logprobs; "
        "otherwise argmax, recorded as such): rubric, the probability-weighted mean of the score tokens 1-5 (G-Eval); "
        "reference and sufficiency, P(true) / (P(true) + P(false)) for the verdict's value, passing above 0.5 (the "
        "local model answers in one forward pass, writing no reply to misparse); not for pairwise judges")
    retries: int = Field(2, ge=0, le=10, description="re-asks after an unparsable or failed verdict, then the verdict "
                         "is a judge_error (neither pass nor fail)")
    against: str | None = Field(None, min_length=1, description="pairwise only: the rung every other rung is "
                                "compared with")
    max_new_tokens: int = Field(128, gt=0, description="most tokens of one verdict")

    @model_validator(mode="after")
    def _fields_fit_kind(self) -> "JudgeSpec":
        rubric, pairwise = self.kind == "rubric", self.kind == "pairwise"
        if rubric and self.criteria is None:
            raise ValueError("a rubric judge needs `criteria`: what a good answer does")
        if not rubric and self.criteria is not None:
            raise ValueError(f"`criteria` is for rubric judges only (this one is {self.kind})")
        if pairwise and self.scoring != "argmax":
            raise ValueError("`scoring: logprobs` is not for pairwise judges")
        if pairwise and self.against is None:
            raise ValueError("a pairwise judge needs `against`: the rung every other rung is compared with")
        if not pairwise and self.against is not None:
            raise ValueError(f"`against` is for pairwise judges only (this one is {self.kind})")
        return self

    @property
    def verdict_tag(self) -> str:
        """The tag of this judge's verdicts (its own, or its kind's default)."""
        return self.tag or DEFAULT_JUDGE_TAG.get(self.kind, self.name)


class TargetSpec(Strict):
    metric: str = Field(
        "overall", description="which accuracy must reach `value`: form, knowledge, overall (every check and judge "
        "passes) or the tag of a judge"
    )
    value: float = Field(0.9, ge=0, le=1)


class BudgetSpec(Strict):
    """Build cost only: what building rungs may spend (training, a teacher's answers), not serving."""

    money: float | None = Field(
        None, ge=0, description="most to spend building rungs: the climb skips fine-tuning rungs once the build "
        "cost spent reaches it, and `ladder recommend --scenario budget` picks among rungs whose build cost fits it"
    )

    @model_validator(mode="before")
    @classmethod
    def _no_train_hours(cls, data: Any) -> Any:
        if isinstance(data, dict) and "train_hours" in data:
            raise ValueError("train_hours was removed (it was never enforced); a training-time limit is a money "
                             "limit: set prices.train_per_hour and budget.money")
        return data


class TaskSpec(Strict):
    name: str = Field("", description="the task's name in runs and reports; default: the name of task.yaml's folder")
    description: str = ""
    model: ModelSpec = ModelSpec()
    models: list[CandidateModelSpec] | None = Field(
        None, min_length=2,
        description="base models to compare (instead of `model:`): every rung climbs on each, rows named "
                    "`<rung>@<label>`, each costed at its model's prices; fine-tuning rungs run on local models and "
                    "are skipped with the reason on endpoint models. The first is the task's model (judges' and "
                    "the teacher's default)")
    teacher: TeacherSpec | None = Field(
        None, description="a stronger model whose answers the `distill` rung trains on (and diagnosis compares)"
    )
    data: DataSpec
    corpus: Path | None = Field(
        None, description="folder of .txt/.md/.jsonl documents, relative to task.yaml, for the retrieval rungs"
    )
    prompts: PromptSpec = PromptSpec()
    generation: GenerationSpec = GenerationSpec()
    checks: list[AnyCheck] = Field(
        [], description="tier-1 checks run on every eval answer; each kind's fields are declared in ladder.metrics.checks. "
                        "Default (none here nor on the examples): one `exact` check named `answer`, tag knowledge: "
                        "the answer must equal the reference"
    )
    judges: list[JudgeSpec] = Field(
        [], description="LLM judges (tier 2) run on every answered eval row (pairwise ones after every rung); their "
                        "verdicts count like checks of their tag, and their cost is evaluation cost"
    )
    target: TargetSpec = TargetSpec()
    judge_trust_kappa: float = Field(
        0.4, ge=-1, le=1, description="a judge whose Cohen's kappa against its reference (people's labels, else "
        "tier-1 checks of its tag) has a 95% lower bound below this is marked untrusted in the report"
    )
    selection: SelectionSpec | None = Field(
        None, description="choose rungs on a dev share of the eval rows and report them on the rest"
    )
    budget: BudgetSpec = BudgetSpec()
    prices: PriceSpec = PriceSpec()
    volume: int = Field(100_000, ge=0, description="expected requests, for break-even advice")
    rungs: dict[str, dict[str, Any] | None] | None = Field(
        None, description="rungs to climb and their options; default: the main ladder (zero_shot, instructed, "
                          "few_shot, rag, lora_sft), each skipped with its reason when the task lacks what it needs"
    )
    seed: int = 0

    @model_validator(mode="after")
    def _judges_fit_task(self) -> "TaskSpec":
        names = [j.name for j in self.judges]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"judges: the name(s) {', '.join(map(repr, twice))} are given twice; each judge's name "
                             "must be unique")
        clash = sorted(set(names) & {c.name for c in self.checks})
        if clash:
            raise ValueError(f"judges: {', '.join(map(repr, clash))} is also a check's name; verdicts are told apart "
                             "by name, so give the judge another")
        if self.rungs is not None:
            for j in self.judges:
                if j.against is not None and j.against not in self.rungs:
                    raise ValueError(f"judges: {j.name!r} compares against {j.against!r}, which is not among the "
                                     f"rungs climbed ({', '.join(self.rungs)})")
        metric = self.target.metric
        tags = sorted({j.verdict_tag for j in self.judges if j.kind != "pairwise"})
        if metric not in TARGET_METRICS and metric not in tags:
            raise ValueError(f"target.metric {metric!r} is neither form, knowledge, overall nor the tag of a judge"
                             + (f" ({', '.join(tags)})" if tags else " (no judge gives verdicts)"))
        return self

    @model_validator(mode="before")
    @classmethod
    def _first_model_is_the_model(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not data.get("models"):
            return data
        first = data["models"][0]
        if isinstance(first, dict) and "model" not in data:
            data = {**data, "model": {k: v for k, v in first.items() if k not in ("label", "prices")}}
        return data

    @model_validator(mode="after")
    def _models_distinct(self) -> "TaskSpec":
        if self.models and self.model.model_dump() != self.models[0].base().model_dump():
            raise ValueError("give either `model:` (one model) or `models:` (models to compare; the first is the "
                             "task's model), not both")
        labels = [m.display_label for m in self.models or ()]
        twice = sorted({x for x in labels if labels.count(x) > 1})
        if twice:
            raise ValueError(f"models: label {', '.join(twice)} given to more than one model; set `label:` to tell "
                             "them apart")
        other = [m.display_label for m in self.models or () if m.prices is not None
                 and m.prices.currency != self.prices.currency]
        if other:
            raise ValueError(f"models: {', '.join(other)} priced in another currency than prices.currency "
                             f"({self.prices.currency}): costs are compared, so give them in one currency")
        return self

    def prices_of(self, model: CandidateModelSpec) -> "PriceSpec":
        """What `model` costs: its own `prices:`, else its endpoint's listed prices for its name
        (training still at the task's train_per_hour), else the task's `prices:`."""
        if model.prices is not None:
            return model.prices
        if model.backend == "openai" and model.endpoint is not None:
            listed = get_endpoint(model.endpoint).price(model.name)
            if listed is not None:
                return self.prices.model_copy(update=listed.model_dump(
                    include={"input_per_1k", "output_per_1k", "finetuned_input_per_1k", "finetuned_output_per_1k"}))
        return self.prices


PricedModelSpec.model_rebuild()  # resolve their forward references to PriceSpec
TeacherSpec.model_rebuild()
CandidateModelSpec.model_rebuild()
TaskSpec.model_rebuild()
