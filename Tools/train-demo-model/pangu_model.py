"""PanguEmbedded decoder (openPangu-Embedded architecture) in PyTorch, written for this tool.

Architecture (the same as shared/data/models/tiny-pangu-embedded/README.md, with tied embeddings):
  x = embed_tokens[id]
  per layer:  h = rmsnorm(x) * input_layernorm
              q, k, v = h·Wq^T + bq, h·Wk^T + bk, h·Wv^T + bv        (bias on q/k/v/o)
              q, k = rope(q), rope(k)                                 (HF "rotate half", bias before rope)
              query head j uses kv head j // (num_heads / num_kv_heads) (grouped-query attention)
              x = x + o_proj(causal_softmax(q k^T / sqrt(head_dim)) v)
              x = x + down_proj(silu(gate_proj(rmsnorm(x) * post_attention_layernorm)) * up_proj(...))
  logits = (rmsnorm(x) * norm) · embed_tokens^T                      (tie_word_embeddings: no lm_head)
RoPE: Su et al., "RoFormer" (arXiv:2104.09864), in the GPT-NeoX half-split pairing.
"""
from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import nn


@dataclasses.dataclass(frozen=True)
class PanguConfig:
    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    max_position_embeddings: int = 2048
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10000.0

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads


class RMSNorm(nn.Module):
    def __init__(self, size: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x [..., n] -> x / sqrt(mean(x^2) + eps) * weight
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_cos_sin(config: PanguConfig, num_positions: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """cos, sin [num_positions, head_dim]; inv_freq[i] = theta^(-2i/head_dim), duplicated over both halves."""
    d = config.head_dim
    inv_freq = 1.0 / (config.rope_theta ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
    angles = torch.arange(num_positions, dtype=torch.float64)[:, None] * inv_freq[None, :]
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos().to(dtype), angles.sin().to(dtype)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    # x [b, heads, t, d]; out[i] = x[i] cos - x[i+d/2] sin, out[i+d/2] = x[i+d/2] cos + x[i] sin
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos + rotated * sin


class Attention(nn.Module):
    def __init__(self, config: PanguConfig):
        super().__init__()
        self.config = config
        h, d = config.hidden_size, config.head_dim
        self.q_proj = nn.Linear(h, config.num_attention_heads * d, bias=True)
        self.k_proj = nn.Linear(h, config.num_key_value_heads * d, bias=True)
        self.v_proj = nn.Linear(h, config.num_key_value_heads * d, bias=True)
        self.o_proj = nn.Linear(config.num_attention_heads * d, h, bias=True)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, dropout: float) -> torch.Tensor:
        c = self.config
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, c.num_attention_heads, c.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, t, c.num_key_value_heads, c.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, c.num_key_value_heads, c.head_dim).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        group = c.num_attention_heads // c.num_key_value_heads
        k = k.repeat_interleave(group, dim=1)  # query head j reads kv head j // group
        v = v.repeat_interleave(group, dim=1)
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=dropout)
        return self.o_proj(out.transpose(1, 2).reshape(b, t, c.num_attention_heads * c.head_dim))


class MLP(nn.Module):
    def __init__(self, config: PanguConfig):
        super().__init__()
        self.gate_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.up_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.down_proj = nn.Linear(config.intermediate_size, config.hidden_size, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, config: PanguConfig):
        super().__init__()
        self.self_attn = Attention(config)
        self.mlp = MLP(config)
        self.input_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)

    def forward(self, x, cos, sin, dropout: float):
        a = self.self_attn(self.input_layernorm(x), cos, sin, dropout)
        x = x + F.dropout(a, dropout, self.training)
        m = self.mlp(self.post_attention_layernorm(x))
        return x + F.dropout(m, dropout, self.training)


class PanguBody(nn.Module):
    """Holds the `model.*` tensors (HF names without the `model.` prefix)."""

    def __init__(self, config: PanguConfig):
        super().__init__()
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList(DecoderLayer(config) for _ in range(config.num_hidden_layers))
        self.norm = RMSNorm(config.hidden_size, config.rms_norm_eps)


class PanguEmbeddedForCausalLM(nn.Module):
    """Decoder-only LM; `state_dict()` keys are exactly the checkpoint's HF tensor names."""

    def __init__(self, config: PanguConfig, dropout: float = 0.0):
        super().__init__()
        self.config = config
        self.dropout = dropout
        self.model = PanguBody(config)

    def init_weights(self, generator: torch.Generator) -> None:
        """GPT-2 style init: N(0, 0.02), residual outputs scaled by 1/sqrt(2 L), zero biases, unit norms."""
        std = 0.02
        residual_std = std / math.sqrt(2 * self.config.num_hidden_layers)
        for name, p in sorted(self.named_parameters()):
            with torch.no_grad():
                if name.endswith("layernorm.weight") or name == "model.norm.weight":
                    p.fill_(1.0)
                elif name.endswith(".bias"):
                    p.zero_()
                elif name.endswith("o_proj.weight") or name.endswith("down_proj.weight"):
                    p.normal_(0.0, residual_std, generator=generator)
                else:
                    p.normal_(0.0, std, generator=generator)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        """input_ids [b, t] (position p at index p, starting at 0) -> logits [b, t, vocab]."""
        return self.final_hidden(input_ids) @ self.model.embed_tokens.weight.t()

    def final_hidden(self, input_ids: torch.Tensor) -> torch.Tensor:
        """input_ids [b, t] -> rmsnorm(x) * norm.weight [b, t, hidden], the input of the output projection."""
        t = input_ids.shape[1]
        x = self.model.embed_tokens(input_ids)
        cos, sin = rope_cos_sin(self.config, t, x.dtype)
        p = self.dropout if self.training else 0.0
        for layer in self.model.layers:
            x = layer(x, cos, sin, p)
        return self.model.norm(x)
