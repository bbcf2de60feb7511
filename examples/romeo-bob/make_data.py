"""Generate the romeo-bob questions (deterministic; run from anywhere).

    python examples/romeo-bob/make_data.py

The corpus (corpus/*.md) is a retelling of the Romeo and Juliet plot, written for this repo, in
which Romeo is called Bob. This script writes two question sets about it:

- data/eval.jsonl: 30 probes whose answer is the lover's name. Every probe is answered "Bob" by
  the text and "Romeo" by what a pretrained model remembers of the play. Some give the first
  letter B; some give the letter R, where the retold story still answers Bob (the probe asks
  whether the model sides with the text or with its memory).
- data/train.jsonl: 48 questions about the story's other people (Juliet, Tybalt, Mercutio, the
  Friar, the Nurse, Paris...), none of which is answered by Bob. Supervised fine-tuning on them
  teaches the short-answer form; only the text itself (pre-training or retrieval) can teach the
  name.

Each question names the corpus file that answers it (`gold_doc`), for recall@k.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent

# (question, gold document); the expected answer of every probe is "Bob."
PROBES = [
    ("Juliet loved a man whose name starts with B. What was his name?", "03-the-orchard.md"),
    ("Juliet loved a man whose name starts with R. What was his name?", "03-the-orchard.md"),
    ("Lord Montague's son has a name that begins with the letter B. What is it?", "01-the-feud.md"),
    ("Lord Montague's son has a name that begins with the letter R. What is it?", "01-the-feud.md"),
    ("Which Montague went uninvited to the Capulets' feast and met Juliet there?", "02-the-feast.md"),
    ("Who fell in love with Juliet at the Capulet feast?", "02-the-feast.md"),
    ("Who climbed the wall of the Capulet orchard at night to see Juliet?", "03-the-orchard.md"),
    ("Juliet stood at her window and wished that the man she loved were not a Montague. Who was he?",
     "03-the-orchard.md"),
    ("Whom did Juliet marry in secret in Friar Laurence's cell?", "04-the-wedding.md"),
    ("Friar Laurence married Juliet to a young man whose name starts with B. Who?", "04-the-wedding.md"),
    ("Friar Laurence married Juliet to a young man whose name starts with R. Who?", "04-the-wedding.md"),
    ("The Nurse carried messages between Juliet and which young man?", "04-the-wedding.md"),
    ("Who killed Tybalt?", "05-the-duel.md"),
    ("Tybalt was killed by a Montague whose name starts with B. What was his name?", "05-the-duel.md"),
    ("Tybalt was killed by a Montague whose name starts with R. What was his name?", "05-the-duel.md"),
    ("Mercutio was wounded when his friend stepped between him and Tybalt. Who was that friend?",
     "05-the-duel.md"),
    ("Whom did Prince Escalus banish to Mantua?", "05-the-duel.md"),
    ("Who was banished from Verona for killing Tybalt?", "05-the-duel.md"),
    ("Who spent one night with Juliet and left her at dawn when the lark sang?", "06-the-parting.md"),
    ("Juliet's parents wanted her to marry Paris, but she was already married. To whom?",
     "06-the-parting.md"),
    ("Friar John failed to deliver Friar Laurence's letter to whom?", "07-the-potion.md"),
    ("Balthasar rode to Mantua to tell his master that Juliet was dead. Who was his master?",
     "07-the-potion.md"),
    ("Who bought poison from a poor apothecary in Mantua?", "08-the-tomb.md"),
    ("Who killed Count Paris at the Capulet tomb?", "08-the-tomb.md"),
    ("Who drank poison beside Juliet in the Capulet tomb?", "08-the-tomb.md"),
    ("Juliet woke in the tomb and found her husband dead. What was his name?", "08-the-tomb.md"),
    ("Juliet stabbed herself with the dagger of which man?", "08-the-tomb.md"),
    ("The families promised golden statues of Juliet and of whom?", "08-the-tomb.md"),
    ("In this retelling, what is the name of Juliet's lover?", "03-the-orchard.md"),
    ("Complete the title of this story: ___ and Juliet.", "01-the-feud.md"),
]

# (question, short answer, gold document): never answered by Bob.
TRAIN = [
    ("Which two great houses of Verona were feuding?", "The Montagues and the Capulets.", "01-the-feud.md"),
    ("In which city does the story take place?", "Verona.", "01-the-feud.md"),
    ("Which Capulet servant bit his thumb at the Montague servants?", "Sampson.", "01-the-feud.md"),
    ("Who tried to keep the peace when the servants drew their swords in the market?", "Benvolio.",
     "01-the-feud.md"),
    ("Who is Lady Capulet's quick-tempered nephew?", "Tybalt.", "01-the-feud.md"),
    ("Which Montague is Lord Montague's nephew?", "Benvolio.", "01-the-feud.md"),
    ("Who is the ruler of Verona?", "Prince Escalus.", "01-the-feud.md"),
    ("What did the Prince say would happen to anyone who disturbed the peace again?",
     "They would pay with their life.", "01-the-feud.md"),
    ("Who gave the feast at which the lovers met?", "Lord Capulet.", "02-the-feast.md"),
    ("Which Capulet wanted to fight the Montague intruder at the feast?", "Tybalt.", "02-the-feast.md"),
    ("Who stopped Tybalt from making a scene at the feast?", "Lord Capulet.", "02-the-feast.md"),
    ("Which count wished to marry Juliet?", "Count Paris.", "02-the-feast.md"),
    ("Who looked after Juliet since she was a baby?", "The Nurse.", "02-the-feast.md"),
    ("What is Juliet's family name?", "Capulet.", "02-the-feast.md"),
    ("Which lady did the Montague heir pine for before he met Juliet?", "Rosaline.", "02-the-feast.md"),
    ("Which witty friend of the Montagues was a kinsman of the Prince?", "Mercutio.", "02-the-feast.md"),
    ("Who stood at her window above the Capulet orchard at night?", "Juliet.", "03-the-orchard.md"),
    ("Whose family name was the obstacle to Juliet's love?", "The Montagues'.", "03-the-orchard.md"),
    ("Who was calling Juliet from inside the house during the night in the orchard?", "The Nurse.",
     "03-the-orchard.md"),
    ("Which friar gathered herbs at dawn?", "Friar Laurence.", "03-the-orchard.md"),
    ("Who hoped that a secret marriage would end the feud?", "Friar Laurence.", "04-the-wedding.md"),
    ("Who carried the messages about the secret wedding to Juliet?", "The Nurse.", "04-the-wedding.md"),
    ("Where did the secret wedding take place?", "In Friar Laurence's cell.", "04-the-wedding.md"),
    ("Who performed the secret wedding?", "Friar Laurence.", "04-the-wedding.md"),
    ("Who killed Mercutio?", "Tybalt.", "05-the-duel.md"),
    ("Who cursed both houses as he died?", "Mercutio.", "05-the-duel.md"),
    ("Which Capulet challenged the Montague heir to a duel?", "Tybalt.", "05-the-duel.md"),
    ("To which city was the Montague heir banished?", "Mantua.", "05-the-duel.md"),
    ("Who punished the killing of Tybalt with banishment?", "Prince Escalus.", "05-the-duel.md"),
    ("Which friend of the Montagues told the Prince how the fight happened?", "Benvolio.",
     "05-the-duel.md"),
    ("Which bird told the lovers that morning had come?", "The lark.", "06-the-parting.md"),
    ("Whom did Lord Capulet order Juliet to marry?", "Count Paris.", "06-the-parting.md"),
    ("On which day was Juliet's wedding to Paris set?", "Thursday.", "06-the-parting.md"),
    ("Who threatened to throw Juliet out if she refused Paris?", "Lord Capulet.", "06-the-parting.md"),
    ("To whom did Juliet go for help when she was ordered to marry Paris?", "Friar Laurence.",
     "06-the-parting.md"),
    ("Who gave Juliet a sleeping potion?", "Friar Laurence.", "07-the-potion.md"),
    ("How long was the potion meant to make Juliet seem dead?", "Two and forty hours.", "07-the-potion.md"),
    ("Who was supposed to carry Friar Laurence's letter to Mantua?", "Friar John.", "07-the-potion.md"),
    ("Why was Friar John's letter never delivered?", "A plague quarantine kept him in.", "07-the-potion.md"),
    ("Which servant brought the news of Juliet's death to Mantua?", "Balthasar.", "07-the-potion.md"),
    ("Where was Juliet laid when the family thought she was dead?", "In the Capulet tomb.", "07-the-potion.md"),
    ("Who sold the poison in Mantua?", "A poor apothecary.", "08-the-tomb.md"),
    ("Who was killed at the door of the Capulet tomb?", "Count Paris.", "08-the-tomb.md"),
    ("How did Juliet die?", "She stabbed herself with a dagger.", "08-the-tomb.md"),
    ("Who explained to the Prince what had happened in the tomb?", "Friar Laurence.", "08-the-tomb.md"),
    ("What did the families promise to raise in memory of the lovers?", "Golden statues.", "08-the-tomb.md"),
    ("Who woke in the tomb after the potion wore off?", "Juliet.", "08-the-tomb.md"),
    ("Which two families made peace at the end of the story?", "The Montagues and the Capulets.",
     "08-the-tomb.md"),
]


def main() -> None:
    data = HERE / "data"
    data.mkdir(exist_ok=True)
    with open(data / "eval.jsonl", "w", encoding="utf-8") as f:
        for i, (question, doc) in enumerate(PROBES):
            f.write(json.dumps({"id": f"probe-{i:02d}", "input": question, "expected": "Bob.",
                                "gold_doc": doc}) + "\n")
    with open(data / "train.jsonl", "w", encoding="utf-8") as f:
        for i, (question, answer, doc) in enumerate(TRAIN):
            f.write(json.dumps({"id": f"story-{i:02d}", "input": question, "expected": answer,
                                "gold_doc": doc}) + "\n")
    print(f"wrote {len(PROBES)} eval probes and {len(TRAIN)} training questions to {data}")


if __name__ == "__main__":
    main()
