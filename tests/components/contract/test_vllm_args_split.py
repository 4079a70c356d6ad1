"""A shell script is split into the words shlex finds, also on the fast path without quoting."""

from __future__ import annotations

import shlex

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.contract import vllm_args

pytestmark = pytest.mark.unit

# White space of every kind (shlex splits at four of them), shell operators and quoting.
SCRIPT_TEXT = st.text(alphabet=st.sampled_from(list(" \t\r\n\x0b\x0c\x1c\x85\xa0\u2028\u3000ab-=#;|&$()*\x00é'\"\\")), max_size=40)


@settings(max_examples=2000, derandomize=True, deadline=None)
@given(text=SCRIPT_TEXT)
def test_script_words_are_shlex_words(text):
    script = "vllm " + text  # a script starting with '-' would be read as a shell option
    try:
        expected = shlex.split(script)
    except ValueError:
        with pytest.raises(vllm_args.VllmArgsError, match="cannot read the shell command line"):
            vllm_args.parse(["sh"], ["-c", script])
        return
    assert vllm_args._tokens(["sh"], ["-c", script]) == expected


def test_the_same_command_line_is_split_once():
    args = ["-c", "vllm serve org/m --served-model-name m-split-once --port 8000"]
    first = vllm_args.parse(["sh"], args)
    assert vllm_args.parse(["sh"], list(args)) is first
    assert first.served_model_name == "m-split-once" and first.model == "org/m"
