"""Tiny random-weight Llama models that tests build themselves: real files that the real loading code reads.

`write_safetensors_llama(folder)` saves a LlamaForCausalLM (64 wide, 2 layers) with `save_pretrained` and a
byte-level BPE tokenizer trained in memory (so any text tokenizes) with a Llama-3-like chat template.
`write_gguf_llama(path)` writes the same weights and vocabulary as a GGUF file that llama.cpp loads. Both are
seeded, so every build holds the same model. `safetensors_model()` and `gguf_model()` build each once per test
session (in a temporary folder) and return where it is; copy it before changing anything. `repo_files(path)`
gives a model's files as `{name: bytes}`, ready for `FakeHub.add_repo`.

Both writers take a `Shape`: the benchmark (bench/models.py) builds `SMOLLM2_360M`, a model of SmolLM2-360M's size
(its vocabulary padded with tokens the model never picks), so that a token costs what a real one does.

The model never chooses a special token (end of text included) or a token that is not printable ASCII: those rows
of the output matrix are zero, so under greedy decoding a reply always runs to `max_tokens`, in plain ASCII, which
is what a cancel test and a text comparison need.
"""

from __future__ import annotations

import atexit
import copy
import functools
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

BOS, EOS = "<|begin_of_text|>", "<|eot_id|>"
SPECIAL_TOKENS = (BOS, "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", EOS)
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] | trim + '<|eot_id|>' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)
CORPUS = (
    "The quick brown fox jumps over the lazy dog. A local model answers on this server, token by token. "
    "Hello! How are you today? I am fine, thank you. What is the capital of France? Paris is the capital. "
    "Write a short poem about the sea and the sky, the wind and the rain. Numbers: 0 1 2 3 4 5 6 7 8 9 10 42. "
    "def main():\n    print('hello world')\n"
)
VOCAB_SIZE = 384  # the tokenizer's; a Shape may pad the model's vocabulary past it


@dataclass(frozen=True)
class Shape:
    """A Llama's dimensions, and how its random weights are drawn."""

    hidden_size: int = 64
    intermediate_size: int = 128
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    vocab_size: int = VOCAB_SIZE
    initializer_range: float = 0.2  # larger than usual, so greedy choices are clear-cut in bf16 too

    def config(self) -> dict[str, Any]:
        fields = asdict(self)
        del fields["vocab_size"]
        return fields | {"max_position_embeddings": 8192, "rms_norm_eps": 1e-5}


TINY = Shape()
SMOLLM2_360M = Shape(960, 2560, 32, 15, 5, vocab_size=49152, initializer_range=0.02)
SEED = 1234
GGUF_NAME = "tiny-Q4_K_M.gguf"  # the tag is what the downloader picks by; the tensors inside are F32


def _tokenizer() -> Any:
    """A byte-level BPE trained on CORPUS, wrapped as a transformers fast tokenizer with the chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator([CORPUS] * 4, trainer=trainer)
    wrapped = PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token=BOS, eos_token=EOS, pad_token=EOS)
    wrapped.chat_template = CHAT_TEMPLATE
    return wrapped


def _unwanted(tokenizer: Any) -> list[int]:
    """Token ids the model must never pick: the special ones and any that is not printable ASCII on its own."""
    special = set(tokenizer.all_special_ids) | {tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    ids = []
    for token_id in range(len(tokenizer)):
        text = tokenizer.decode([token_id])
        if token_id in special or not text or not all(32 <= ord(c) < 127 or c == "\n" for c in text):
            ids.append(token_id)
    return ids


def _model(tokenizer: Any, shape: Shape) -> Any:
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=max(shape.vocab_size, len(tokenizer)),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=False,
        **shape.config(),
    )
    torch.manual_seed(SEED)
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():
        model.lm_head.weight[_unwanted(tokenizer)] = 0.0
        model.lm_head.weight[len(tokenizer) :] = 0.0  # the padding: ids the tokenizer has no text for
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.eos_token_id,
        do_sample=False,
    )
    return model


@functools.cache
def _built(shape: Shape) -> tuple[Any, Any]:
    tokenizer = _tokenizer()
    return tokenizer, _model(tokenizer, shape)


def write_safetensors_llama(folder: Path, shape: Shape = TINY, dtype: str = "float32") -> Path:
    """Save the model as a transformers repo (model.safetensors, configs, tokenizer) in `folder`."""
    import torch
    from transformers.utils import logging

    tokenizer, model = _built(shape)
    folder.mkdir(parents=True, exist_ok=True)
    logging.disable_progress_bar()  # a bar per save on the test output
    saved = model if dtype == "float32" else copy.deepcopy(model).to(getattr(torch, dtype))  # the cached one stays
    saved.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _permute(weights: Any, heads: int) -> Any:
    """HF's rotary layout (halves) to llama.cpp's (pairs), as convert_hf_to_gguf.py does for q and k."""
    return (
        weights.reshape(heads, 2, weights.shape[0] // heads // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


def _tensors(model: Any, half: bool) -> dict[str, Any]:
    """The weights under llama.cpp's names, as numpy arrays: float32, or float16 for matrices when `half`."""

    def array(value: Any) -> Any:
        found = value.detach().float().numpy()
        return found.astype("float16") if half and found.ndim > 1 else found  # llama.cpp's norms stay float32

    state = {name: array(value) for name, value in model.state_dict().items()}
    heads, kv_heads = model.config.num_attention_heads, model.config.num_key_value_heads
    tensors = {
        "token_embd.weight": state["model.embed_tokens.weight"],
        "output_norm.weight": state["model.norm.weight"],
        "output.weight": state["lm_head.weight"],
    }
    for n in range(model.config.num_hidden_layers):
        layer = f"model.layers.{n}."
        tensors |= {
            f"blk.{n}.attn_q.weight": _permute(state[layer + "self_attn.q_proj.weight"], heads),
            f"blk.{n}.attn_k.weight": _permute(state[layer + "self_attn.k_proj.weight"], kv_heads),
            f"blk.{n}.attn_v.weight": state[layer + "self_attn.v_proj.weight"],
            f"blk.{n}.attn_output.weight": state[layer + "self_attn.o_proj.weight"],
            f"blk.{n}.ffn_gate.weight": state[layer + "mlp.gate_proj.weight"],
            f"blk.{n}.ffn_up.weight": state[layer + "mlp.up_proj.weight"],
            f"blk.{n}.ffn_down.weight": state[layer + "mlp.down_proj.weight"],
            f"blk.{n}.attn_norm.weight": state[layer + "input_layernorm.weight"],
            f"blk.{n}.ffn_norm.weight": state[layer + "post_attention_layernorm.weight"],
        }
    return tensors


def _add_vocabulary(writer: Any, tokenizer: Any, size: int) -> None:
    import json

    import gguf

    backend = json.loads(tokenizer.backend_tokenizer.to_str())
    by_id = {index: token for token, index in tokenizer.get_vocab().items()}
    padding = [f"<|reserved_{index}|>" for index in range(len(by_id), size)]  # control tokens, never picked
    special = set(SPECIAL_TOKENS) | set(padding)
    tokens = [by_id[index] for index in range(len(by_id))] + padding
    merges = [m if isinstance(m, str) else " ".join(m) for m in backend["model"]["merges"]]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt-2")  # the GPT-2 split regex, which tokenizers' ByteLevel pre-tokenizer uses
    writer.add_token_list(tokens)
    writer.add_token_types([gguf.TokenType.CONTROL if t in special else gguf.TokenType.NORMAL for t in tokens])
    writer.add_token_merges(merges)
    writer.add_bos_token_id(tokenizer.bos_token_id)
    writer.add_eos_token_id(tokenizer.eos_token_id)
    writer.add_add_bos_token(False)  # the chat template writes it
    writer.add_chat_template(CHAT_TEMPLATE)


def write_gguf_llama(path: Path, shape: Shape = TINY, half: bool = False) -> Path:
    """Write the model (the safetensors one's weights and vocabulary) as a llama-architecture GGUF file, in F32, or
    in F16 when `half` (what llama.cpp's quantizer takes to write a Q4_K_M file)."""
    import gguf

    tokenizer, model = _built(shape)
    config = model.config
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("tiny llama")
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_rope_dimension_count(config.hidden_size // config.num_attention_heads)
    writer.add_rope_freq_base(float(config.rope_parameters["rope_theta"]))
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_vocab_size(config.vocab_size)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16 if half else gguf.LlamaFileType.ALL_F32)
    _add_vocabulary(writer, tokenizer, config.vocab_size)
    for name, array in _tensors(model, half).items():
        writer.add_tensor(name, array)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@functools.cache
def _session_folder() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="tiny-models-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


@functools.cache
def safetensors_model() -> Path:
    """The tiny transformers repo, built once per test session; copy it before changing it."""
    return write_safetensors_llama(_session_folder() / "safetensors")


@functools.cache
def gguf_model() -> Path:
    """The tiny GGUF repo folder (one `tiny-Q4_K_M.gguf`), built once per test session; copy it before changing it."""
    write_gguf_llama(_session_folder() / "gguf" / GGUF_NAME)
    return _session_folder() / "gguf"


def repo_files(folder: Path) -> dict[str, bytes]:
    """A built model's files by name, as `FakeHub.add_repo` takes them."""
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()}


def tiny_model(runtime: str) -> Path:
    """The session's tiny model folder for a runtime name ("transformers" or "llama.cpp")."""
    return {"transformers": safetensors_model, "llama.cpp": gguf_model}[runtime]()
