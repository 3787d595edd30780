import json
import math

import pytest
import torch

from seqtext import CheckpointError, ConfigError, DataError, TextModel, load
from seqtext.errors import SeqtextWarning
from seqtext.text.generate import Completion
from seqtext.text.net import TextNet

from conftest import TINY_LINES


def test_textnet_shapes_and_loss_ignores_padding():
    from seqtext.config import CoreConfig, TextConfig

    net = TextNet(11, TextConfig(embed=6), CoreConfig(hidden=8), pad_id=0)
    x = torch.tensor([[2, 5, 6, 0], [2, 7, 0, 0]])  # (B, T)
    y = torch.tensor([[5, 6, 3, 0], [7, 3, 0, 0]])
    logits, loss, hidden = net(x, y)
    assert logits.shape == (2, 4, 11) and hidden.shape == (1, 2, 8)
    mask = y != 0
    manual = torch.nn.functional.cross_entropy(logits[mask], y[mask])
    torch.testing.assert_close(loss, manual)


def test_weight_tying_shares_one_matrix_and_survives_save(tmp_path):
    model = TextModel(embed=16, hidden=16, tie_weights=True, epochs=2, device="cpu", valid_fraction=0.0)
    model.fit(TINY_LINES)
    assert model.net.head.weight is model.net.embed.weight
    back = load(model.save(tmp_path / "tied"))
    assert back.net.head.weight is back.net.embed.weight
    torch.testing.assert_close(back.net.head.weight, model.net.head.weight)


def test_tying_a_wider_core_projects_it_to_the_embedding(tmp_path):
    model = TextModel(embed=8, hidden=24, tie_weights=True, epochs=2, device="cpu", valid_fraction=0.0)
    model.fit(TINY_LINES)
    net = model.net
    assert net.head.weight is net.embed.weight and net.project.weight.shape == (8, 24)
    x = torch.tensor([[1, 5, 6]])
    logits, _, _ = net(x)
    out, _ = net.core(net.embed(x))
    torch.testing.assert_close(logits, net.head(net.project(out)))  # eval mode: no dropout
    hidden = None
    with torch.no_grad():
        for t in range(x.shape[1]):  # the generation step reads the same weights the same way
            step, hidden = net.step(x[:, t], hidden)
            torch.testing.assert_close(step, logits[:, t])
    back = load(model.save(tmp_path / "projected"))
    assert back.net.head.weight is back.net.embed.weight
    torch.testing.assert_close(back.net(x)[0], logits)


def test_tiny_model_learns_the_pronouns(tiny_model):
    assert tiny_model.complete("Mary rides the bicycle, the bicycle is ___") == (
        "Mary rides the bicycle, the bicycle is hers."
    )
    assert tiny_model.complete("John drives the car, the car is ___") == "John drives the car, the car is his."
    words = tiny_model.next_words("Mary rides the bicycle, the bicycle is ___", 3)
    assert words[0][0] == "hers" and words[0][1] > 0.5
    assert [p for _, p in words] == sorted((p for _, p in words), reverse=True)


def test_blank_in_the_middle_is_filled_in_place_using_the_text_after_it(tiny_model):
    out = tiny_model.complete("___ drives the car, the car is his.")
    assert out == "John drives the car, the car is his."
    out = tiny_model.complete("Mary ___ the car, the car is hers.")
    assert out == "Mary drives the car, the car is hers."
    assert out.words == ["drives"]


def test_continuation_stops_at_sentence_end_and_keeps_prompt(tiny_model):
    out = tiny_model.complete("Mary  rides")  # spacing kept exactly as typed
    assert out.startswith("Mary  rides ")
    assert out.endswith(".") and out.count(".") == 1
    short = tiny_model.complete("Mary rides", words=2)
    assert len(short.words) == 2


def test_unknown_words_still_answer(tiny_model):
    out = tiny_model.complete("Zorblax quux ___")
    assert isinstance(out, Completion) and len(out) > len("Zorblax quux ")
    assert out.unknown == ["Zorblax", "quux"]
    assert out.to_dict()["unknown"] == ["Zorblax", "quux"]


def test_sampling_is_seeded(tiny_model):
    a = [tiny_model.complete("We", temperature=1.5, seed=s) for s in range(6)]
    b = [tiny_model.complete("We", temperature=1.5, seed=s) for s in range(6)]
    assert a == b
    hot = {tiny_model.complete("We", temperature=5.0, seed=s) for s in range(8)}
    assert len(hot) > 1  # different seeds draw different continuations
    assert tiny_model.complete("Mary rides the bicycle, the bicycle is ___", top_k=1, seed=3).endswith("hers.")


@pytest.mark.parametrize("prompt, match", [("", "empty"), ("   ", "empty"), ("___ and ___", "2 blanks")])
def test_bad_prompts(tiny_model, prompt, match):
    with pytest.raises(DataError, match=match):
        tiny_model.complete(prompt)


def test_evaluate_reports_all_figures(tiny_model):
    m = tiny_model.evaluate(TINY_LINES)
    assert m["sentences"] == 6 and m["tokens"] == sum(len(s.split()) for s in TINY_LINES) + 6 * 3
    assert m["last_word_accuracy"] == 1.0
    assert 1.0 <= m["perplexity"] < 3.0 and 0.5 < m["accuracy"] <= 1.0
    # bf16 is for running text read as it is: asked of a model of separate sentences, it says so and reads in fp32
    with pytest.warns(SeqtextWarning, match="bf16 speeds up running text read as it is"):
        assert tiny_model.evaluate(TINY_LINES, precision="bf16") == m


def test_save_load_round_trip(tiny_model, tmp_path):
    path = tiny_model.save(tmp_path / "copy")
    assert sorted(p.name for p in path.iterdir()) == [  # trainer.pt: the loaded model's, so the copy resumes
        "config.json", "metrics.jsonl", "model.safetensors", "tokenizer.json", "trainer.pt"]
    cfg = json.loads((path / "config.json").read_text())
    assert cfg["format_version"] == 2 and cfg["kind"] == "text"
    back = load(path)
    for prompt in ["Mary rides the bicycle, the bicycle is ___", "We drive", "___ rides the bicycle."]:
        assert back.complete(prompt) == tiny_model.complete(prompt)
    for key, value in back.net.state_dict().items():
        assert torch.equal(value, tiny_model.net.state_dict()[key])


def test_save_refuses_foreign_directory(tiny_model, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(CheckpointError, match="not a seqtext model directory"):
        tiny_model.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_untrained_model_refuses_to_complete():
    with pytest.raises(ConfigError, match="not trained"):
        TextModel().complete("hello")


def test_bpe_model_trains_and_completes(tmp_path):
    model = TextModel(tokenizer="bpe", vocab_size=60, embed=16, hidden=64, epochs=120, lr=3e-3,
                      embed_dropout=0.0, output_dropout=0.0, lr_decay=1.0,
                      batch_size=4, device="cpu", valid_fraction=0.0, patience=120)
    model.fit(TINY_LINES * 4)
    assert model.complete("Mary rides the bicycle, the bicycle is ___") == (
        "Mary rides the bicycle, the bicycle is hers.")
    back = load(model.save(tmp_path / "bpe"))
    assert back.complete("John drives the car, the car is ___").endswith("his.")


def test_trailing_blank_takes_one_word_and_its_full_stop(tiny_model):
    out = tiny_model.complete("Mary rides the bicycle, the bicycle is ___", words=20)
    assert out.words == ["hers"] and out.endswith("hers.")
    glued = tiny_model.complete("Mary rides the bicycle, the bicycle is___")
    assert glued == "Mary rides the bicycle, the bicycle is hers."  # a space is put before the word
    longer = tiny_model.complete("Mary rides the bicycle, the bicycle is _____")  # a run of underscores: one blank
    assert longer == "Mary rides the bicycle, the bicycle is hers." and longer.unknown == []
    with pytest.raises(DataError, match="the prompt has 2 blanks"):
        tiny_model.complete("____ rides the bicycle, the bicycle is ___")


def test_a_trailing_blank_ends_at_closing_punctuation_never_a_comma(tiny_model_dir):
    """Whatever the model ranks first after the blank's word, only closing punctuation (or nothing) follows it."""
    model = load(tiny_model_dir)
    tok, head = model.tokenizer, model.net.head
    logp = torch.full((tok.get_vocab_size(),), -20.0)
    for token, p in {",": 0.5, ".": 0.3, "car": 0.15}.items():  # the same at every step
        logp[tok.token_to_id(token)] = math.log(p)
    with torch.no_grad():
        head.weight.zero_()
        head.bias.copy_(logp)
    assert model.complete("Mary drives the ___") == "Mary drives the car."  # "," was likelier than "."
    assert model.complete("Mary drives the ___ every day") == "Mary drives the car every day"
    assert model.complete("Mary drives the___every day") == "Mary drives the car every day"


def test_a_list_of_path_strings_is_read_as_files(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("\n".join(TINY_LINES[:3]))
    b.write_text("\n".join(TINY_LINES[3:]))
    model = TextModel(embed=8, hidden=8, epochs=1, device="cpu", valid_fraction=0.0).fit([str(a), str(b)])
    assert model.summary["train_sentences"] == 6
    assert model.task.sources["corpus"] == [str(a.resolve()), str(b.resolve())]


def test_no_stop_generates_across_sentence_ends(tiny_model):
    out = tiny_model.complete("Mary", words=30, stop=False)
    assert len(out.words) == 30
    assert out.count(".") >= 2  # it went past the first sentence end
    # a model of separate sentences starts each next one afresh from <s>, as in training: a line of its own that
    # begins with a word, never a blank line or a stray full stop after the </s> it was never shown as input
    lines = str(out).split("\n")
    assert len(lines) >= 2 and all(line.strip() and line.strip()[0].isalpha() for line in lines[1:]), lines


def test_bpe_blank_in_the_middle_is_one_word(tmp_path):
    model = TextModel(tokenizer="bpe", vocab_size=60, embed=16, hidden=32, epochs=3, device="cpu",
                      valid_fraction=0.0)
    model.fit(TINY_LINES * 4)
    out = model.complete("Mary ___ the bicycle.")
    filled = out[len("Mary "):-len(" the bicycle.")]
    assert filled and " " not in filled and filled.isalpha(), out
    # the listed candidates are whole words, ranked as the fill ranks them (with the text after the blank): the
    # fill heads them, in the middle and at the end
    listed = model.next_words("Mary ___ the bicycle.", 3)
    assert listed[0][0] == filled and all(" " not in w and w.isalpha() for w, _ in listed), listed
    last = model.complete("Mary rides the ___").words[0]
    assert model.next_words("Mary rides the ___", 3)[0][0] == last
    # under a neural cache (which reads one text at a time) too: with its weight at 0, the same words
    for prompt in ("Mary ___ the bicycle.", "Mary rides the ___"):
        assert str(model.complete(prompt, cache=20, cache_lambda=0.0)) == str(model.complete(prompt))
        assert [w for w, _ in model.next_words(prompt, 3, cache=20, cache_lambda=0.0)] == \
            [w for w, _ in model.next_words(prompt, 3)]
        assert len(model.complete(prompt, cache=20, cache_lambda=0.5).words) == 1


def test_adaptive_head_gives_a_distribution_and_the_same_loss_as_its_log_probs():
    from seqtext.config import CoreConfig, TextConfig

    torch.manual_seed(0)
    net = TextNet(40, TextConfig(embed=6, softmax="adaptive", cutoffs=[10, 25]),
                  CoreConfig(hidden=16), pad_id=0).eval()
    x = torch.tensor([[2, 5, 30, 0], [2, 17, 0, 0]])  # (B, T)
    y = torch.tensor([[5, 30, 3, 0], [17, 39, 0, 0]])  # ids in every cluster; padding ignored
    logp, _, _ = net(x)  # (B, T, V) log-probabilities
    assert logp.shape == (2, 4, 40)
    torch.testing.assert_close(logp.exp().sum(-1), torch.ones(2, 4))
    none, loss, _ = net(x, y)
    mask = y != 0
    assert none is None
    torch.testing.assert_close(loss, -logp[mask].gather(1, y[mask][:, None]).mean())
    hidden = None
    with torch.no_grad():
        for t in range(x.shape[1]):
            step, hidden = net.step(x[:, t], hidden)
            torch.testing.assert_close(step, logp[:, t])


@pytest.mark.parametrize("options,message", [
    (dict(softmax="adaptive", tie_weights=True), "adaptive softmax has no single output matrix"),
    (dict(softmax="adaptive", cutoffs=[5, 5]), "increasing"),
    (dict(softmax="adaptive", cutoffs=[1000]), "below the vocabulary size"),
    (dict(softmax="adaptive", cutoffs=[5, 10, 15], hidden=8), "hidden size of at least 64"),
    (dict(softmax="mixture"), "softmax must be"),
    (dict(cutoffs=[10, 20]), "adaptive softmax only"),
])
def test_bad_adaptive_softmax_options_are_refused(options, message):
    with pytest.raises(ConfigError, match=message):
        TextModel(embed=8, epochs=1, device="cpu", **options).fit(TINY_LINES)


@pytest.mark.parametrize("softmax", ["full", "adaptive"])
def test_greedy_step_is_the_argmax_of_step_without_banned_tokens(softmax):
    from seqtext.config import CoreConfig, TextConfig

    torch.manual_seed(0)
    text = TextConfig(embed=6, softmax=softmax, cutoffs=[10, 25] if softmax == "adaptive" else [])
    net = TextNet(40, text, CoreConfig(hidden=16, layers=2), pad_id=0).eval()
    banned = torch.tensor([0, 1, 2])
    tokens = torch.arange(3, 40)  # every token as the previous one: (37,) rows
    with torch.no_grad():
        if softmax == "adaptive":  # make some rows' best head entry a tail cluster: the full path must run
            net.head.head.weight[-1] *= 40.0
        logits, hidden = net.step(tokens)
        best, hidden2 = net.greedy_step(tokens, None, banned)
    want = logits.index_fill(1, banned, -math.inf).argmax(-1)
    assert torch.equal(best, want)
    torch.testing.assert_close(hidden2, hidden)
    if softmax == "adaptive":
        assert (want >= net.head.shortlist_size).any()  # the fallback was exercised
    # banned words in the tail clusters too (punctuation barred after a trailing blank's word may be rare),
    # among them the tail words that won above, so their rows must find the next best
    winners = want[want >= 10].unique() if softmax == "adaptive" else torch.tensor([], dtype=torch.long)
    assert softmax != "adaptive" or winners.numel()
    banned = torch.cat([banned, winners, torch.tensor([12, 13, 30, 39])]).unique()
    with torch.no_grad():
        best, _ = net.greedy_step(tokens, None, banned)
    assert torch.equal(best, logits.index_fill(1, banned, -math.inf).argmax(-1))


def test_greedy_completion_of_an_adaptive_model_matches_the_full_distribution(monkeypatch):
    model = TextModel(embed=16, hidden=32, softmax="adaptive", epochs=3, device="cpu", valid_fraction=0.0)
    model.fit(TINY_LINES * 3)
    fast = model.complete("Mary", words=30, stop=False)
    monkeypatch.setattr(TextNet, "greedy_step", lambda self, tokens, hidden, banned: (
        self.step(tokens, hidden)[0].index_fill(1, banned, -math.inf).argmax(-1),
        self.step(tokens, hidden)[1]))
    assert model.complete("Mary", words=30, stop=False) == fast


def test_a_second_fit_resolves_the_softmax_cutoffs_from_its_own_vocabulary():
    few = ["a b c", "b c a", "c a b"] * 5
    many = [" ".join(f"w{i}" for i in range(j, j + 8)) for j in range(60)]
    options = dict(softmax="adaptive", embed=16, hidden=16, epochs=1, device="cpu", seed=0)
    refit = TextModel(**options)
    refit.fit(few)
    first = list(refit.settings.text.cutoffs)
    refit.fit(many)
    fresh = TextModel(**options).fit(many)
    assert list(refit.settings.text.cutoffs) == list(fresh.settings.text.cutoffs) != first


def test_a_loaded_model_saved_elsewhere_stays_resumable(tmp_path):
    """load() then save() used to drop trainer.pt: the copy looked whole but could not be resumed."""
    lines = ["Mary rides the bicycle, the bicycle is hers.", "We drive the car, the car is ours."] * 6
    options = dict(embed=8, hidden=8, epochs=2, device="cpu", seed=0, valid_fraction=0.0)
    TextModel(**options).fit(lines, checkpoint_dir=tmp_path / "a")
    load(tmp_path / "a").save(tmp_path / "copy")
    assert (tmp_path / "copy" / "trainer.pt").read_bytes() == (tmp_path / "a" / "trainer.pt").read_bytes()
    on = TextModel.resume(tmp_path / "copy", lines, epochs=3)
    original = TextModel.resume(tmp_path / "a", lines, epochs=3)
    assert on.score(lines[:1])[0]["logprob"] == original.score(lines[:1])[0]["logprob"]
    assert len(on.history) == 3


def test_a_trainer_file_replaced_or_removed_after_load_is_not_copied(tmp_path):
    import shutil

    from seqtext.errors import SeqtextWarning

    lines = ["Mary rides the bicycle, the bicycle is hers.", "We drive the car, the car is ours."] * 6
    options = dict(embed=8, hidden=8, epochs=1, device="cpu", seed=0, valid_fraction=0.0)
    TextModel(**options).fit(lines, checkpoint_dir=tmp_path / "a")
    loaded = load(tmp_path / "a")
    TextModel(**{**options, "hidden": 16}).fit(lines, checkpoint_dir=tmp_path / "a")  # another run, same place
    with pytest.warns(SeqtextWarning, match="trainer.pt was replaced or removed since this model was loaded"):
        loaded.save(tmp_path / "copy")
    assert not (tmp_path / "copy" / "trainer.pt").exists() and load(tmp_path / "copy").score(lines[:1])
    again = load(tmp_path / "a")
    shutil.rmtree(tmp_path / "a")
    with pytest.warns(SeqtextWarning, match="replaced or removed"):
        again.save(tmp_path / "second")  # it used to fail: the file to copy was gone


def test_a_continuation_writes_names_as_the_training_text_does_torch_and_export_alike(tmp_path):
    """The word tokenizer lower-cases: without the recorded forms a continuation wrote "Harry and ben"."""
    from seqtext.export.onnx import export
    from seqtext.export.runtime import load as load_export

    lines = ["Harry and Ben ride the bus, the bus is theirs.", "Alice and Ben drive the car, the car is theirs.",
             "Harry and Ben wash the cup, the cup is theirs."] * 20
    model = TextModel(embed=16, hidden=32, epochs=30, lr=1e-2, seed=0, device="cpu", valid_fraction=0.0,
                      embed_dropout=0.0, output_dropout=0.0).fit(lines)
    assert model.task.casing == {"ben": "Ben"}  # Harry and Alice only ever start a sentence: the spacer's capital
    done = model.complete("Alice and", words=2)
    assert str(done) == "Alice and Ben drive" and done.words == ["Ben", "drive"]
    path = model.save(tmp_path / "m")
    assert json.loads((path / "config.json").read_text())["casing"] == {"ben": "Ben"}
    onnx = load_export(export(path, tmp_path / "onnx"))
    assert str(onnx.complete("Alice and", words=2)) == str(done) == str(load(path).complete("Alice and", words=2))
    assert "".join(onnx.stream("Alice and", words=2)) == " Ben drive"
    assert model.next_words("Alice and", 1)[0][0] == onnx.next_words("Alice and", 1)[0][0] == "Ben"  # as written
    assert model.suggest("Alice and b", 1)[0][0] == "Ben"  # suggest offers it so, and accepting it writes it so
    from seqtext.text.suggest import suggester_for

    assert suggester_for(model).accept("Alice and b", "Ben") == "Alice and Ben "
    chars = TextModel(tokenizer="char", mode="sentence", embed=4, hidden=8, epochs=1, device="cpu").fit(lines)
    assert chars.task.casing == {}  # a character model keeps every case itself
    assert str(model.complete("Harry and ___ ride the bus.")) == "Harry and Ben ride the bus."
    config = json.loads((path / "config.json").read_text())
    del config["casing"]  # a model saved before the forms were recorded writes its tokens as they are
    (path / "config.json").write_text(json.dumps(config))
    assert str(load(path).complete("Alice and", words=2)) == "Alice and ben drive"
