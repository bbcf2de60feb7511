"""`ladder init` and `ladder schema`: start a task.yaml, and the schema editors check it with."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ladder.cli.app import app, fail, out


def _examples_dir() -> Path:
    # The examples ship with a checkout of the repository, beside src/.
    import ladder

    return Path(ladder.__file__).resolve().parents[2] / "examples"


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _say(lines: list[str]) -> None:
    for line in lines:
        out.print(line, markup=False, highlight=False, soft_wrap=True)


@app.command()
def init(
    data: Annotated[Optional[Path], typer.Argument(metavar="DATA", help=(
        "A JSONL data file (OpenAI chat, Alpaca, ShareGPT, prompt/completion or input/expected rows), or a "
        "CSV/TSV table whose header names those keys (input,expected). "
        "Without it, the shipped examples are listed."))] = None,
    out_path: Annotated[Path, typer.Option("--out", help="Where to write task.yaml.")] = Path("task.yaml"),
    eval_file: Annotated[Optional[Path], typer.Option(
        "--eval", help="A separate eval file: DATA is then the training data and nothing is split.")] = None,
    corpus: Annotated[Optional[Path], typer.Option(help="A folder of documents for the rag rung.")] = None,
    eval_fraction: Annotated[float, typer.Option(
        help="Share of DATA's rows drawn for the eval split.", min=0.01, max=0.99)] = 0.2,
    seed: Annotated[int, typer.Option(help="Seed of the train/eval split.")] = 0,
    force: Annotated[bool, typer.Option("--force", help="Overwrite task.yaml and split files that exist.")] = False,
) -> None:
    """Write a commented task.yaml for a data file: its format detected, a seeded train/eval split
    written beside it (DATA.train.jsonl, DATA.eval.jsonl) when only one file is given, and checks
    proposed from the reference answers (JSON -> json schema, labels -> exact, numbers -> numeric,
    free text -> contains), each marked form or knowledge. Exit code 0 written, 2 bad input."""
    from ladder.task import DataError, TaskError
    from ladder.task.init import InitError, example_tasks, init_task

    if data is None:
        examples = example_tasks(_examples_dir())
        if not examples:
            _say(["no shipped examples here (they come with a checkout of the repository)",
                  "start one from your data: ladder init DATA.jsonl (or DATA.csv)"])
            return
        _say(["shipped examples (climb one with `ladder climb PATH`):"])
        width = max(len(_shown(p)) for p, _ in examples)
        _say([f"  {_shown(path):<{width}}  {description}" for path, description in examples])
        _say(["", "start one from your data: ladder init DATA.jsonl [--corpus DIR] [--out task.yaml]"])
        return
    try:
        result = init_task(data, out_path, eval_file=eval_file, corpus=corpus, eval_fraction=eval_fraction,
                           seed=seed, force=force)
    except DataError as e:
        raise fail([f"error: {p}" for p in e.problems]) from None
    except (InitError, ValueError) as e:
        raise fail([f"error: {p}" for p in getattr(e, "problems", [str(e)])]) from None
    except TaskError as e:
        raise fail([f"error: {e.file}: {p}" for p in e.problems]) from None
    plan = result.plan
    for path in result.written[:-1]:
        rows = plan.n_train if path.name == plan.train_path else plan.n_eval
        _say([f"wrote {path} ({rows} rows)"])
    if plan.split_note:
        _say([f"  {plan.split_note}"])
    checks = ", ".join(f"{c.fields['name']} ({c.fields['kind']}, {c.fields['tag']})" for c in plan.proposal.checks)
    _say([f"wrote {result.task_path}: checks {checks}",
          "next: read the comments in it and edit, then",
          f"  ladder data check {result.task_path}",
          f"  ladder climb {result.task_path}"])


@app.command()
def schema(
    out_file: Annotated[Optional[Path], typer.Option(
        "--out", help="Write the schema to this file instead of printing it.")] = None,
) -> None:
    """Print the JSON Schema of task.yaml. Editors that use yaml-language-server complete and check
    a task.yaml whose first line is `# yaml-language-server: $schema=task.schema.json`."""
    from ladder.task.schema import task_json_schema_text

    text = task_json_schema_text()
    if out_file is None:
        typer.echo(text, nl=False)
        return
    out_file.write_text(text, encoding="utf-8")
    _say([f"wrote {out_file}", f"first line of a task.yaml: # yaml-language-server: $schema={out_file}"])
