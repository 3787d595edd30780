"""The classifier's and tagger's options: one declaration each, turned into flags, config keys and config.json."""

import pytest
from click.testing import CliRunner

from seqtext.cli import cli
from seqtext.cli.options import flag, help_text
from seqtext.config import TextConfig
from seqtext.optionfiles import read_options_file
from seqtext.errors import ConfigError
from seqtext.labelconfig import ClassifySettings, TagSettings

COMMANDS = {ClassifySettings: ["classify", "train"], TagSettings: ["tag", "train"]}


@pytest.mark.parametrize("settings", [ClassifySettings, TagSettings])
def test_every_option_is_one_flag_with_its_help_and_default(settings):
    command = cli
    for name in COMMANDS[settings]:
        command = command.commands[name]
    params = {p.name: p for p in command.params}
    defaults = settings.defaults()
    for section, fld in settings.fields():
        param = params[fld.name]
        assert flag(fld.name) in param.opts and param.default == defaults[fld.name]
        if section in ("classify", "tag"):  # (the shared sections' help is checked with the other tasks)
            assert param.help == help_text(fld)
    assert params["bidirectional"].secondary_opts == ["--no-bidirectional"] and defaults["bidirectional"] is True


@pytest.mark.parametrize("settings", [ClassifySettings, TagSettings])
def test_options_shared_with_the_language_model_are_declared_once(settings):
    text = {f.name: f for _, f in settings.fields()}
    import dataclasses

    own_help = {"vocab_size"} if settings is ClassifySettings else set()  # the classifier's vocabulary is words
    for fld in dataclasses.fields(TextConfig):
        if fld.name in text:
            if fld.name in own_help:
                assert "BPE" not in text[fld.name].metadata["help"] and "BPE" in fld.metadata["help"]
            else:
                assert text[fld.name].metadata["help"] == fld.metadata["help"]
            assert text[fld.name].metadata["rule"] == fld.metadata["rule"]


def test_a_config_file_sets_the_options_and_bad_values_are_named(tmp_path):
    file = tmp_path / "c.toml"
    file.write_text('pooling = "mean"\ntext-column = "review"\nhidden = 32\n')
    assert ClassifySettings(**read_options_file(file)).classify.pooling == "mean"
    with pytest.raises(ConfigError, match="^pooling must be one of last, mean, max, attention"):
        ClassifySettings(pooling="sum")
    with pytest.raises(ConfigError, match="^chars must be"):
        TagSettings(chars=-1)
    result = CliRunner().invoke(cli, ["classify", "train", "--help"], terminal_width=200)
    assert "[default: max]" in result.output and "--init-from MODEL_DIR" in result.output
