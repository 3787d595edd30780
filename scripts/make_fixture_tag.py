"""How tests/fixtures/tag-v2 and tag-v2.json were made: a tagger directory written before the tagger took
``init_from``, and its answers (tests/test_tag_transfer.py checks that today's code opens it and answers
the same).

Run with the release before ``init_from`` reached the tagger (commit c74309d), from the repository root:

    PYTHONPATH=. python scripts/make_fixture_tag.py tests/fixtures
"""
import json
import random
import sys
from pathlib import Path

from seqtext import SequenceTagger

if len(sys.argv) != 2 or sys.argv[1].startswith("-"):  # -h/--help, or no folder: say how to run it
    print(__doc__)
    sys.exit(0 if sys.argv[1:] in (["-h"], ["--help"]) else 2)
out = Path(sys.argv[1])
rng = random.Random(0)
nouns, verbs = "cat dog man house tree".split(), "runs eats sees".split()
pairs = []
for _ in range(60):
    words = ["the", rng.choice(nouns), rng.choice(verbs), "the", rng.choice(nouns)]
    words[1] = words[1].capitalize() if rng.random() < 0.3 else words[1]
    pairs.append((words, ["DET", "NOUN", "VERB", "DET", "NOUN"]))
tagger = SequenceTagger(embed=8, chars=8, hidden=8, epochs=10, batch_size=8, lr=0.02, device="cpu", seed=0).fit(pairs)
tagger.save(out / "tag-v2")
(out / "tag-v2" / "trainer.pt").unlink()  # what resume needs: not part of what is checked
sentences = ["the dog sees the Tree", "The zebra runs", ["a", "Cat", "eats"]]
expected = {"sentences": sentences, "tags": tagger.predict(sentences),
            "probabilities": [[{t: round(p, 6) for t, p in word.items()} for word in sentence]
                              for sentence in tagger.predict_proba(sentences)]}
(out / "tag-v2.json").write_text(json.dumps(expected, indent=1) + "\n")
print(json.dumps(expected["tags"]))
