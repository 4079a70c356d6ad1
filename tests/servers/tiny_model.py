"""A tiny random-weight Llama in the Hugging Face layout, for vLLM to serve in the servers tests.

    python -m tests.servers.tiny_model DIR     (with the vLLM venv's Python: it has numpy,
                                               safetensors and tokenizers; no torch needed)

Nothing is downloaded: the weights are seeded random numbers, the tokenizer a byte-level BPE
trained here on a few sentences. The shapes are the smallest vLLM's CPU attention accepts:
its kernels refuse head_dim 16 ("Unsupported CPU attention configuration"), so 2 heads of 64.
Imports only the standard library, numpy, safetensors and tokenizers.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HIDDEN = 128
INTERMEDIATE = 256
LAYERS = 2
HEADS = 2
VOCAB = 320
CONTEXT = 1280  # the chat snippets' batch lines ask for up to 1000 new tokens
SEED = 21
EOS = 2
# Random weights alone would almost never pick the end token, so every answer would run to its
# max_tokens (a chat request without one: the whole context, seconds on CPU). Every token's
# embedding shares one direction, which the residual stream keeps through the small random
# layers, and the end token's output row points along it: its logit is about EOS_LOGIT at each
# step, which with 320 tokens and temperature 1 ends an answer after about 16 tokens.
EOS_LOGIT = 3.0
SPECIAL_TOKENS = ["<unk>", "<s>", "</s>"]
# The tokenizer learns its merges from these; any text still encodes, byte by byte.
CORPUS = [
    "What is the ultimate breakfast sandwich?",
    "You are an experienced cook. Eggs, bacon, cheese and bread.",
    "You are a maths tutor. Explain the Pythagorean theorem.",
    "The square of the hypotenuse is the sum of the squares of the other two sides.",
    "user assistant system: hello, how are you today?",
]
# A plain template: vLLM's chat endpoint refuses a tokenizer without one.
CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}</s>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


def config() -> dict:
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": HIDDEN,
        "intermediate_size": INTERMEDIATE,
        "num_hidden_layers": LAYERS,
        "num_attention_heads": HEADS,
        "num_key_value_heads": HEADS,
        "head_dim": HIDDEN // HEADS,
        "hidden_act": "silu",
        "max_position_embeddings": CONTEXT,
        "rms_norm_eps": 1e-6,
        "rope_theta": 10000.0,
        "vocab_size": VOCAB,
        "bos_token_id": 1,
        "eos_token_id": EOS,
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
    }


def weights() -> dict:
    import numpy as np

    rng = np.random.default_rng(SEED)

    def normal(*shape: int):
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    embed = normal(VOCAB, HIDDEN)
    embed[:, 0] += 1.0
    lm_head = normal(VOCAB, HIDDEN)
    # After the final RMSNorm the shared direction is about sqrt(HIDDEN) long.
    lm_head[EOS, 0] = EOS_LOGIT / HIDDEN**0.5
    tensors = {
        "model.embed_tokens.weight": embed,
        "model.norm.weight": np.ones(HIDDEN, dtype=np.float32),
        "lm_head.weight": lm_head,
    }
    for layer in range(LAYERS):
        prefix = f"model.layers.{layer}"
        tensors |= {
            f"{prefix}.input_layernorm.weight": np.ones(HIDDEN, dtype=np.float32),
            f"{prefix}.post_attention_layernorm.weight": np.ones(HIDDEN, dtype=np.float32),
            **{f"{prefix}.self_attn.{p}_proj.weight": normal(HIDDEN, HIDDEN) for p in "qkvo"},
            f"{prefix}.mlp.gate_proj.weight": normal(INTERMEDIATE, HIDDEN),
            f"{prefix}.mlp.up_proj.weight": normal(INTERMEDIATE, HIDDEN),
            f"{prefix}.mlp.down_proj.weight": normal(HIDDEN, INTERMEDIATE),
        }
    return tensors


def tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS, trainer=trainer)
    return tok


def write(directory: Path) -> Path:
    """Write the model into directory (created); returns it."""
    from safetensors.numpy import save_file

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(config(), indent=2))
    (directory / "generation_config.json").write_text(json.dumps({"bos_token_id": 1, "eos_token_id": EOS}))
    save_file(weights(), str(directory / "model.safetensors"), metadata={"format": "pt"})
    tok = tokenizer()
    if tok.get_vocab_size() > VOCAB:
        raise SystemExit(f"the tokenizer has {tok.get_vocab_size()} tokens, more than the model's {VOCAB}")
    tok.save(str(directory / "tokenizer.json"))
    (directory / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "PreTrainedTokenizerFast",
                "bos_token": "<s>",
                "eos_token": "</s>",
                "unk_token": "<unk>",
                "model_max_length": CONTEXT,
                "chat_template": CHAT_TEMPLATE,
            },
            indent=2,
        )
    )
    return directory


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m tests.servers.tiny_model DIR")
    print(write(Path(sys.argv[1])))
