"""The report's sections for tiers 2 and 3: judge cards, human review, rankings from pairwise votes.

Display strings only, shared by report.md and report.html; every figure comes from the summary
(ladder.scoring_judges, ladder.scoring_human, ladder.scoring_ranking). A section with no data
gives no rows, and the reports then leave it out.
"""

from __future__ import annotations

from typing import Any

from ladder.report.fmt import DASH, fixed, money, pct, with_interval

Table = tuple[list[str], list[list[str]]]
REFERENCE_NAMES = {"people": "people's labels", "checks": "tier-1 checks of its tag"}


def _kappa(ref: dict[str, Any]) -> str:
    if ref["kappa"] is None:
        return f"undefined ({ref['kappa_undefined']})"
    low, high = ref["kappa_ci"]
    return f"{ref['kappa']:.2f} [{low:.2f}–{high:.2f}]"


def _confusion(ref: dict[str, Any]) -> str:
    """`judge pass: 3 pass, 2 fail; judge fail: 1 pass, 3 fail` (the reference's labels within)."""
    names = ["pass" if x is True else "fail" if x is False else str(x) for x in ref["labels"]]
    return "; ".join(f"judge {row}: " + ", ".join(f"{count} {col}" for count, col in zip(counts, names))
                     for row, counts in zip(names, ref["confusion"]))


def _coverage(card: dict[str, Any]) -> str:
    return f"{card['verdicts']}/{card['asked']} ({pct(card['coverage'])}), {card['judge_errors']} judge_error"


def _cost(card: dict[str, Any], currency: str) -> str:
    c = card["cost"]
    if c["money_per_verdict"] is None:
        return DASH
    return f"{money(c['money_per_verdict'])} {currency}, {fixed(c['tokens_per_verdict'], 0)} tok, {fixed(c['latency_s_per_verdict'], 2)} s"


def _what(card: dict[str, Any]) -> str:
    scoring = f", {card['scoring']}" if card.get("scoring") else ""
    tag = f", tag {card['tag']}" if card.get("tag") else ""
    return f"{card['kind']}{tag} ({card['model']}{scoring})"


def judge_card_table(summary: dict[str, Any]) -> Table:
    """One row per judge and reference signal (one row with dashes when it has none)."""
    currency = summary["run"]["currency"]
    headers = ["judge", "what", "coverage (verdicts/asked)", "cost per verdict", "against", "n",
               "agreement (95% CI)", "Cohen's kappa (95% CI)", "confusion (judge vs reference)", "trust"]
    rows = []
    for card in summary.get("judge_cards") or []:
        head = [card["name"], _what(card), _coverage(card), _cost(card, currency)]
        refs = [(name, ref) for name, ref in card["versus"].items() if ref]
        if not refs:
            rows.append([*head, DASH, DASH, DASH, DASH, DASH, card["trust"]])
        deciding = card["trust_basis"] or refs[0][0] if refs else None
        for name, ref in refs:
            rows.append([*head, REFERENCE_NAMES.get(name, name), str(ref["n"]),
                         with_interval(ref["agreement"], ref["agreement_ci"]), _kappa(ref), _confusion(ref),
                         card["trust"] if name == deciding else "(not deciding)"])
    return headers, rows


def pairwise_judge_table(summary: dict[str, Any]) -> Table:
    headers = ["judge", "pairs asked in both orders", "swap consistency (95% CI)", "inconsistent (read as ties)",
               "incomplete (an order missing or errored)", "first-shown wins among decisive verdicts (95% CI)"]
    rows = [[c["name"], str(c["n_pairs_both_orders"]), with_interval(c["swap_consistency"], c["swap_consistency_ci"]),
             str(c["n_inconsistent"]), str(c["n_incomplete"]),
             with_interval(c["position_bias"], c["position_bias_ci"]) + f" of {c['n_decisive']}"]
            for c in summary.get("judge_cards") or [] if c["kind"] == "pairwise"]
    return headers, rows


def judge_card_notes(summary: dict[str, Any]) -> list[str]:
    run = summary["run"]
    notes = [f"A judge is untrusted when the 95% lower bound of its Cohen's kappa against its reference (people's "
             f"labels where there are any, else the tier-1 checks of its tag) is below {run['judge_trust_kappa']:g} "
             "(task.yaml judge_trust_kappa); without a reference signal its trust is unknown. The kappa interval is "
             "the large-sample one of Fleiss, Cohen & Everitt, widened where needed to the Wilson interval of the "
             "agreement (it stays open at perfect agreement). A pairwise judge's position bias is the share of its "
             "decisive verdicts won by the answer shown first (0.5: none)."]
    cards = summary.get("judge_cards") or []
    notes += [f"{c['name']}: {c['trust']} — {c['trust_text']}." for c in cards]
    held = [c for c in cards if c["n_calibration_excluded"]]
    notes += [f"{c['name']} was calibrated on labels: {c['n_calibration_excluded']} of them are left out of its "
              "agreement figures." for c in held]
    rec = summary["recommendation"]
    if rec.get("rests_on_untrusted_judge"):
        notes.append("The recommendation rests on an untrusted judge: " + ", ".join(rec["untrusted_judges"]) + ".")
    return notes


def human_rung_table(summary: dict[str, Any]) -> Table:
    human = summary.get("human")
    if not human or not human["rungs"]:
        return [], []
    quality = {r["rung"]: r for r in summary["rungs"]}
    metric = summary["run"]["target_metric"]
    headers = ["rung", "answers rated (labels)", "human pass rate (95% CI)", "split evenly", "mean rating 1-5 (n)",
               f"{metric} for target, tier 1-2 (95% CI)", "inter-rater agreement"]
    rows = []
    for h in human["rungs"]:
        r = quality.get(h["rung"], {})
        inter = h["inter_rater"]
        agreement = DASH if inter is None else (
            f"{inter['method']} {fixed(inter['kappa'], 2) if inter['kappa'] is not None else 'undefined'} "
            f"({inter['n_items']} answers, {inter['n_raters']} raters)")
        rows.append([h["rung"], f"{h['n_rated']} ({h['n_labels']})", with_interval(h["pass_rate"], h["pass_ci"]),
                     str(h["n_split"]), f"{fixed(h['mean_rating'], 2)} ({h['n_scored']})",
                     with_interval(r.get("quality"), r.get("quality_ci")), agreement])
    return headers, rows


def human_ab_table(summary: dict[str, Any]) -> Table:
    human = summary.get("human")
    if not human or not human["ab"]:
        return [], []
    headers = ["first rung", "second rung", "choices", "first wins", "second wins", "ties", "both bad",
               "first's share of decisive choices (95% CI)"]
    rows = [[ab["rungs"][0], ab["rungs"][1], str(ab["n"]), str(ab["wins"][ab["rungs"][0]]),
             str(ab["wins"][ab["rungs"][1]]), str(ab["ties"]), str(ab["both_bad"]),
             with_interval(ab["win_rate"], ab["win_ci"])] for ab in human["ab"]]
    return headers, rows


def human_cost_line(summary: dict[str, Any]) -> str | None:
    human = summary.get("human")
    if not human:
        return None
    cost = human["cost"]
    parts = [f"{fixed(cost[k]['seconds_per_label'], 1)} s per {what} ({cost[k]['n_timed']} timed)"
             for k, what in (("ratings", "rating"), ("choices", "A/B choice")) if cost[k]["n"]]
    return (f"Cost of tier 3: people spent {', '.join(parts)}; {fixed(cost['all']['seconds_total'], 0)} s in all, "
            f"raters: {', '.join(human['raters'])}.")


def _strength(e: dict[str, Any]) -> str:
    if e["ci"] is None:
        return f"{e['strength']:+.2f} (no interval: every resample agreed)"
    return f"{e['strength']:+.2f} [{e['ci'][0]:+.2f} to {e['ci'][1]:+.2f}]"


def ranking_tables(summary: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]], list[str]]]:
    """(title, headers, rows, notes) per ranking: the Bradley-Terry strengths beside each rung's
    figure for the target."""
    quality = {r["rung"]: r for r in summary["rungs"]}
    metric = summary["run"]["target_metric"]
    who = {"llm_judge": "pairwise judge verdicts", "human": "people's A/B choices"}
    out = []
    for ranking in summary.get("pairwise_ranking") or []:
        headers = ["rank", "rung", "strength (95% CI)", "wins / losses / ties", f"{metric} for target (95% CI)"]
        rows = [[str(e["rank"]), e["rung"], _strength(e),
                 f"{e['wins']} / {e['losses']} / {e['ties']}",
                 with_interval(quality.get(e["rung"], {}).get("quality"), quality.get(e["rung"], {}).get("quality_ci"))]
                for e in sorted(ranking["rungs"], key=lambda e: e["rank"])]
        notes = [f"From {ranking['n_votes']} {who.get(ranking['source_kind'], ranking['source_kind'])} "
                 f"({', '.join(ranking['sources'])}). {ranking['method']}. A strength is the log-odds of beating an "
                 "average rung of this ranking (they sum to 0)."]
        if not ranking["connected"]:
            notes.append("Not every rung is linked to every other by votes: strengths are comparable only within "
                         "the groups that were compared.")
        swept = [e["rung"] for e in ranking["rungs"] if e["sweep"]]
        if swept:
            notes.append(f"{', '.join(swept)} won or lost every vote: the prior sets how far its strength goes, and "
                         "its interval says little.")
        out.append((f"From {who.get(ranking['source_kind'], ranking['source_kind'])}", headers, rows, notes))
    return out
