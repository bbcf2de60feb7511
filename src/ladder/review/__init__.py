"""`ladder review`: the human review app (tier 3 of evaluation) over a recorded run.

A local web app (FastAPI, server-rendered Jinja2 pages, a little vanilla JavaScript): rate one
answer at a time, choose between two rungs' answers blind, and browse the results. Every label
is written to the run store the moment it is given (`Store.add_assessments`,
`Store.add_comparisons`). Reads and writes the store only; never loads a model.
"""
