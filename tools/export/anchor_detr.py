"""AnchorDETR (Wang et al., "Anchor DETR: Query Design for Transformer-Based Detector",
arXiv 2109.07107) in plain PyTorch, written for export to ONNX.

Semantics follow the paper and megvii-research/AnchorDETR (single feature level, DC5):

- backbone: ResNet (torchvision ResNet-50 with the last stage dilated, stride 16, by default),
  then a 1x1 conv + GroupNorm(32) input projection to `d_model`;
- the padding mask (True = padding, as DETR's NestedTensor) is brought to the feature size by
  nearest interpolation; row and column positions come from it (mask2pos: cumulative count of
  valid pixels along the first row / column, minus 0.5, over the valid length);
- encoder: RCDA self-attention over the feature map + FFN, post-norm;
- decoder: queries are `num_patterns` x `num_anchors`; each anchor is a learned 2-D point (the
  "learned" spatial prior) whose sine embedding, through small MLPs, is the query position;
  each layer is self-attention, RCDA cross-attention, FFN, all post-norm;
- heads on the last decoder layer: sigmoid-class logits (no "no-object" class) and a 3-layer box
  MLP whose first two outputs are offsets from the anchor point in logit space.

Written to run under torch 1.13 and 2.x and to export with dynamic batch and H/W: no Python
control flow on tensor values or shapes, broadcasting instead of shape-dependent repeats, and
the RCDA contraction always in one order (columns first).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class AnchorDetrConfig:
    # backbone: "resnet50" (torchvision) or "small" (bottleneck ResNet with the widths below)
    backbone: str = "resnet50"
    dilation: bool = True  # DC5: last stage dilated instead of strided
    small_planes: list = field(default_factory=lambda: [8, 16, 24, 32])  # bottleneck widths (x4 out)
    small_depths: list = field(default_factory=lambda: [1, 1, 1, 2])
    small_stem: int = 16
    d_model: int = 256
    heads: int = 8
    encoder_layers: int = 6
    decoder_layers: int = 6
    ffn: int = 1024
    num_anchors: int = 300
    num_patterns: int = 3
    num_classes: int = 91
    groupnorm_groups: int = 32

    def to_dict(self) -> dict:
        return asdict(self)


# --------------------------------------------------------------------------- backbone


def _small_resnet(cfg: AnchorDetrConfig) -> nn.Module:
    """A ResNet with torchvision's bottleneck block at small widths, the same stem and the same
    dilation rule as torchvision's replace_stride_with_dilation (the first block of a dilated
    stage keeps the previous dilation, the rest use the new one)."""
    from torchvision.models.resnet import Bottleneck

    layers = [
        nn.Conv2d(3, cfg.small_stem, 7, 2, 3, bias=False),
        nn.BatchNorm2d(cfg.small_stem),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(3, 2, 1),
    ]
    inplanes, dilation = cfg.small_stem, 1
    for i, (planes, depth) in enumerate(zip(cfg.small_planes, cfg.small_depths)):
        stride = 1 if i == 0 else 2
        previous = dilation
        if i == 3 and cfg.dilation:
            dilation *= stride
            stride = 1
        out = planes * Bottleneck.expansion
        down = None
        if stride != 1 or inplanes != out:
            down = nn.Sequential(nn.Conv2d(inplanes, out, 1, stride, bias=False), nn.BatchNorm2d(out))
        blocks = [Bottleneck(inplanes, planes, stride, down, dilation=previous)]
        blocks += [Bottleneck(out, planes, dilation=dilation) for _ in range(depth - 1)]
        layers.append(nn.Sequential(*blocks))
        inplanes = out
    body = nn.Sequential(*layers)
    body.out_channels = inplanes
    return body


def _torchvision_resnet(cfg: AnchorDetrConfig) -> nn.Module:
    import torchvision

    net = getattr(torchvision.models, cfg.backbone)(replace_stride_with_dilation=[False, False, cfg.dilation])
    body = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2, net.layer3, net.layer4)
    body.out_channels = net.fc.in_features
    return body


def build_backbone(cfg: AnchorDetrConfig) -> nn.Module:
    return _small_resnet(cfg) if cfg.backbone == "small" else _torchvision_resnet(cfg)


# --------------------------------------------------------------------------- positions


def sine_embed(pos: torch.Tensor, num_feats: int, temperature: float = 10000.0) -> torch.Tensor:
    """pos [..., ] in [0, 1] -> [..., num_feats]: sin/cos pairs at geometric frequencies
    (sin(p/t_0), cos(p/t_0), sin(p/t_1), ...), as the reference's pos2posemb1d."""
    k = torch.arange(num_feats // 2, dtype=torch.float32, device=pos.device)
    freq = temperature ** (2 * k / num_feats)  # t_k, one per sin/cos pair
    x = (pos * (2 * math.pi)).unsqueeze(-1) / freq
    return torch.stack((x.sin(), x.cos()), dim=-1).flatten(-2)


def sine_embed_2d(points: torch.Tensor, num_feats: int) -> torch.Tensor:
    """points [..., 2] (x, y) -> [..., 2 * num_feats]: the y embedding, then the x embedding."""
    return torch.cat((sine_embed(points[..., 1], num_feats), sine_embed(points[..., 0], num_feats)), dim=-1)


def mask_to_positions(mask: torch.Tensor):
    """mask [B, h, w] bool (True = padding) -> (y [B, h], x [B, w]) normalized positions of the
    valid pixels, measured along the first column and the first row (padding is bottom/right)."""
    valid = (~mask).to(torch.float32)
    y = valid[:, :, 0].cumsum(1)
    x = valid[:, 0, :].cumsum(1)
    y = (y - 0.5) / y[:, -1:]
    x = (x - 0.5) / x[:, -1:]
    return y, x


def inverse_sigmoid(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    x = x.clamp(min=0, max=1)
    return torch.log(x.clamp(min=eps) / (1 - x).clamp(min=eps))


def split_last(x: torch.Tensor, a, b) -> torch.Tensor:
    """[..., a*b] -> [..., a, b] (Tensor.unflatten has no ONNX export in torch 1.13)."""
    return x.reshape(*x.shape[:-1], a, b)


def mlp(d_in: int, d_hidden: int, d_out: int, layers: int) -> nn.Sequential:
    mods, d = [], d_in
    for i in range(layers):
        last = i == layers - 1
        mods.append(nn.Linear(d, d_out if last else d_hidden))
        if not last:
            mods.append(nn.ReLU())
        d = d_hidden
    return nn.Sequential(*mods)


# --------------------------------------------------------------------------- attention


class MultiheadAttention(nn.Module):
    """Standard multi-head attention, batch first (the decoder's query self-attention)."""

    def __init__(self, d: int, heads: int):
        super().__init__()
        self.heads, self.head_dim = heads, d // heads
        self.q = nn.Linear(d, d)
        self.k = nn.Linear(d, d)
        self.v = nn.Linear(d, d)
        self.out = nn.Linear(d, d)

    def _split(self, x: torch.Tensor) -> torch.Tensor:  # [B, L, C] -> [B, heads, L, C/heads]
        return split_last(x, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, q_in, k_in, v_in):
        q = self._split(self.q(q_in)) * self.head_dim ** -0.5
        k = self._split(self.k(k_in))
        v = self._split(self.v(v_in))
        attn = torch.softmax(q @ k.transpose(-1, -2), dim=-1)
        return self.out((attn @ v).transpose(1, 2).flatten(-2))


class RowColumnAttention(nn.Module):
    """Row-column decoupled attention (RCDA). Keys are averaged over the other axis: the row
    keys [B, w, C] over rows, the column keys [B, h, C] over columns. Each query gets a softmax
    over the w columns positions (row attention) and one over the h row positions (column
    attention), and reads V [B, h, w, C] with their outer product:
        out[q] = sum_y sum_x a_col[q, y] a_row[q, x] V[y, x].
    Padded rows / columns (from the first column / row of the mask) get -inf scores."""

    def __init__(self, d: int, heads: int):
        super().__init__()
        self.heads, self.head_dim = heads, d // heads
        self.q_row = nn.Linear(d, d)
        self.q_col = nn.Linear(d, d)
        self.k_row = nn.Linear(d, d)
        self.k_col = nn.Linear(d, d)
        self.v = nn.Linear(d, d)
        self.out = nn.Linear(d, d)

    def _split(self, x: torch.Tensor) -> torch.Tensor:  # [B, L, C] -> [B, heads, L, C/heads]
        return split_last(x, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, query_row, query_col, key_row, key_col, value, padding_mask):
        """query_* [B, L, C]; key_*, value [B, h, w, C]; padding_mask [B, h, w] bool."""
        scale = self.head_dim ** -0.5
        q_row = self._split(self.q_row(query_row)) * scale
        q_col = self._split(self.q_col(query_col)) * scale
        k_row = self._split(self.k_row(key_row).mean(1))  # [B, heads, w, hd]
        k_col = self._split(self.k_col(key_col).mean(2))  # [B, heads, h, hd]
        v = split_last(self.v(value), self.heads, self.head_dim).permute(0, 3, 1, 2, 4)  # [B, heads, h, w, hd]
        w = v.shape[3]

        pad_row = padding_mask[:, 0, :][:, None, None, :]  # [B, 1, 1, w]
        pad_col = padding_mask[:, :, 0][:, None, None, :]  # [B, 1, 1, h]
        a_row = torch.softmax((q_row @ k_row.transpose(-1, -2)).masked_fill(pad_row, float("-inf")), dim=-1)
        a_col = torch.softmax((q_col @ k_col.transpose(-1, -2)).masked_fill(pad_col, float("-inf")), dim=-1)

        per_col = split_last(a_col @ v.flatten(3), w, self.head_dim)  # sum over y: [B, heads, L, w, hd]
        out = (a_row.unsqueeze(-2) @ per_col).squeeze(-2)  # sum over x: [B, heads, L, hd]
        return self.out(out.transpose(1, 2).flatten(-2))


# --------------------------------------------------------------------------- layers


class FeedForward(nn.Module):
    def __init__(self, d: int, ffn: int):
        super().__init__()
        self.linear1 = nn.Linear(d, ffn)
        self.linear2 = nn.Linear(ffn, d)
        self.norm = nn.LayerNorm(d)

    def forward(self, x):
        return self.norm(x + self.linear2(F.relu(self.linear1(x))))


class EncoderLayer(nn.Module):
    def __init__(self, d: int, heads: int, ffn: int):
        super().__init__()
        self.attn = RowColumnAttention(d, heads)
        self.norm = nn.LayerNorm(d)
        self.ffn = FeedForward(d, ffn)

    def forward(self, src, mask, pos_row, pos_col):
        """src [B, h, w, C]; pos_row [B, 1, w, C]; pos_col [B, h, 1, C]."""
        with_row = src + pos_row
        with_col = src + pos_col
        out = self.attn(with_row.flatten(1, 2), with_col.flatten(1, 2), with_row, with_col, src, mask)
        return self.ffn(self.norm(src + out.reshape_as(src)))


class DecoderLayer(nn.Module):
    def __init__(self, d: int, heads: int, ffn: int):
        super().__init__()
        self.self_attn = MultiheadAttention(d, heads)
        self.norm_self = nn.LayerNorm(d)
        self.cross_attn = RowColumnAttention(d, heads)
        self.norm_cross = nn.LayerNorm(d)
        self.ffn = FeedForward(d, ffn)

    def forward(self, tgt, query_pos, query_pos_x, query_pos_y, memory, mask, pos_row, pos_col):
        qk = tgt + query_pos
        tgt = self.norm_self(tgt + self.self_attn(qk, qk, tgt))
        out = self.cross_attn(tgt + query_pos_x, tgt + query_pos_y, memory + pos_row, memory + pos_col, memory, mask)
        return self.ffn(self.norm_cross(tgt + out))


# --------------------------------------------------------------------------- model


class AnchorDETR(nn.Module):
    def __init__(self, cfg: AnchorDetrConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.backbone = build_backbone(cfg)
        self.input_proj = nn.Sequential(nn.Conv2d(self.backbone.out_channels, d, 1), nn.GroupNorm(cfg.groupnorm_groups, d))
        self.encoder = nn.ModuleList(EncoderLayer(d, cfg.heads, cfg.ffn) for _ in range(cfg.encoder_layers))
        self.decoder = nn.ModuleList(DecoderLayer(d, cfg.heads, cfg.ffn) for _ in range(cfg.decoder_layers))
        self.pattern = nn.Embedding(cfg.num_patterns, d)
        self.anchors = nn.Embedding(cfg.num_anchors, 2)  # learned spatial prior, (x, y) in [0, 1]
        self.adapt_pos2d = mlp(d, d, d, 2)
        self.adapt_pos1d = mlp(d, d, d, 2)
        self.class_head = nn.Linear(d, cfg.num_classes)
        self.box_head = mlp(d, d, 4, 3)
        self._init()

    def _init(self):
        nn.init.uniform_(self.anchors.weight, 0, 1)
        nn.init.xavier_uniform_(self.input_proj[0].weight)
        prior = 0.01  # focal-loss prior on the class bias, as the reference
        nn.init.constant_(self.class_head.bias, -math.log((1 - prior) / prior))

    def forward(self, image: torch.Tensor, mask: torch.Tensor):
        """image [B, 3, H, W] float32; mask [B, H, W] bool, True = padding.
        Returns pred_logits [B, Q, num_classes] and pred_boxes [B, Q, 4] (cx, cy, w, h in [0, 1])."""
        d = self.cfg.d_model
        feat = self.input_proj(self.backbone(image))  # [B, C, h, w]
        mask = F.interpolate(mask[None].to(torch.float32), size=feat.shape[-2:]).to(torch.bool)[0]
        pos_y, pos_x = mask_to_positions(mask)
        pos_row = self.adapt_pos1d(sine_embed(pos_x, d)).unsqueeze(1)  # [B, 1, w, C]
        pos_col = self.adapt_pos1d(sine_embed(pos_y, d)).unsqueeze(2)  # [B, h, 1, C]

        memory = feat.permute(0, 2, 3, 1)  # [B, h, w, C]
        for layer in self.encoder:
            memory = layer(memory, mask, pos_row, pos_col)

        # Queries: pattern p, anchor i at index p * num_anchors + i. Their positions depend only
        # on the weights, so they are computed once (batch 1) and broadcast over the batch.
        anchors = self.anchors.weight.repeat(self.cfg.num_patterns, 1).unsqueeze(0)  # [1, Q, 2]
        query_pos = self.adapt_pos2d(sine_embed_2d(anchors, d // 2))
        query_pos_x = self.adapt_pos1d(sine_embed(anchors[..., 0], d))
        query_pos_y = self.adapt_pos1d(sine_embed(anchors[..., 1], d))
        pattern = self.pattern.weight.repeat_interleave(self.cfg.num_anchors, dim=0).unsqueeze(0)  # [1, Q, C]
        tgt = pattern.expand(image.shape[0], -1, -1)

        for layer in self.decoder:
            tgt = layer(tgt, query_pos, query_pos_x, query_pos_y, memory, mask, pos_row, pos_col)

        logits = self.class_head(tgt)
        delta = self.box_head(tgt)
        center = delta[..., :2] + inverse_sigmoid(anchors)
        boxes = torch.cat((center, delta[..., 2:]), dim=-1).sigmoid()
        return logits, boxes


def build(cfg: AnchorDetrConfig | None = None) -> AnchorDETR:
    return AnchorDETR(cfg or AnchorDetrConfig())
