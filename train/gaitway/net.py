"""MicroBi-ConvLSTM in PyTorch, exactly as docs/model.md describes it, and
its FP32 export (BatchNorm folded into the convs).

    net = MicroBiConvLSTM(channels=9, classes=6, window=128)
    logits = net(x)                      # x: [batch, T, C], normalised
    tensors = fp32_tensors(net)          # docs/model-format.md names

The input of forward() is already normalised, (x - mean) / std per channel;
the engines apply that normalisation themselves from input.mean/input.std.
Module names follow the author's code (conv1, bn1, conv2, bn2, lstm,
classifier), so its state_dicts load here unchanged."""

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F_

FILTERS = 16
KERNEL = 5
HIDDEN = 24


class MicroBiConvLSTM(nn.Module):
    """Conv1d+BN+ReLU+MaxPool2 twice, one bidirectional LSTM layer, the last
    time step of its output sequence, dropout, a linear head.

    Input [B, T, C] (T a multiple of 4), output [B, classes] logits."""

    def __init__(self, channels, classes, window=128, filters=FILTERS, kernel=KERNEL,
                 hidden=HIDDEN, dropout=0.1):
        super().__init__()
        if kernel % 2 != 1:
            raise ValueError("kernel must be odd (same padding)")
        if window % 4 != 0:
            raise ValueError("window must be a multiple of 4")
        self.channels, self.classes, self.window = channels, classes, window
        self.filters, self.kernel, self.hidden = filters, kernel, hidden
        pad = kernel // 2
        self.conv1 = nn.Conv1d(channels, filters, kernel, padding=pad, bias=True)
        self.bn1 = nn.BatchNorm1d(filters)
        self.pool1 = nn.MaxPool1d(2, 2)
        self.conv2 = nn.Conv1d(filters, filters, kernel, padding=pad, bias=True)
        self.bn2 = nn.BatchNorm1d(filters)
        self.pool2 = nn.MaxPool1d(2, 2)
        self.lstm = nn.LSTM(filters, hidden, num_layers=1, batch_first=True,
                            bidirectional=True)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(2 * hidden, classes)
        self.reset_parameters()

    def reset_parameters(self):
        """The author's initialisation (docs/model.md)."""
        for m in self.modules():
            if isinstance(m, nn.Conv1d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm1d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LSTM):
                for name, p in m.named_parameters():
                    if "weight_ih" in name:
                        nn.init.xavier_uniform_(p)
                    elif "weight_hh" in name:
                        nn.init.orthogonal_(p)
                    elif "bias" in name:
                        nn.init.zeros_(p)
                        n = p.size(0)
                        p.data[n // 4:n // 2].fill_(1.0)

    def forward(self, x):
        x = x.permute(0, 2, 1)
        x = self.pool1(F_.relu(self.bn1(self.conv1(x))))
        x = self.pool2(F_.relu(self.bn2(self.conv2(x))))
        x = x.permute(0, 2, 1)
        x, _ = self.lstm(x)
        # The last step of the bidirectional sequence: the forward state
        # after all steps, and the backward direction after ONE step.
        x = x[:, -1, :]
        return self.classifier(self.dropout(x))

    def arch(self):
        """The `arch` object of the model description."""
        return {"name": "microbi-convlstm", "channels": self.channels, "classes": self.classes,
                "window": self.window, "filters": self.filters, "kernel": self.kernel,
                "hidden": self.hidden}


def fold_bn(conv, bn):
    """Returns (weight [F, Cin, k], bias [F]) float32 of conv followed by
    BatchNorm in eval mode, folded in float64."""
    w = conv.weight.detach().double()
    b = conv.bias.detach().double() if conv.bias is not None else torch.zeros(w.shape[0],
                                                                            dtype=torch.float64)
    scale = bn.weight.detach().double() / torch.sqrt(bn.running_var.detach().double() + bn.eps)
    wf = w * scale[:, None, None]
    bf = (b - bn.running_mean.detach().double()) * scale + bn.bias.detach().double()
    return wf.float().numpy(), bf.float().numpy()


def fp32_tensors(net):
    """The FP32 tensor set of docs/model-format.md (without input.mean and
    input.std), as float32 numpy arrays in file order."""
    w1, b1 = fold_bn(net.conv1, net.bn1)
    w2, b2 = fold_bn(net.conv2, net.bn2)
    L = net.lstm

    def t(p):
        return p.detach().float().numpy().copy()

    return {
        "conv1.weight": w1,
        "conv1.bias": b1,
        "conv2.weight": w2,
        "conv2.bias": b2,
        "lstm.fwd.weight_ih": t(L.weight_ih_l0),
        "lstm.fwd.weight_hh": t(L.weight_hh_l0),
        "lstm.fwd.bias": (L.bias_ih_l0.detach().double() +
                          L.bias_hh_l0.detach().double()).float().numpy(),
        "lstm.bwd.weight_ih": t(L.weight_ih_l0_reverse),
        "lstm.bwd.bias": (L.bias_ih_l0_reverse.detach().double() +
                          L.bias_hh_l0_reverse.detach().double()).float().numpy(),
        "head.weight": t(net.classifier.weight),
        "head.bias": t(net.classifier.bias),
    }


def predict(net, xn, batch=1024):
    """Logits (float32 numpy [N, K]) of normalised windows xn [N, T, C] in
    eval mode."""
    net.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(xn), batch):
            out.append(net(torch.from_numpy(np.ascontiguousarray(xn[i:i + batch],
                                                                  dtype=np.float32))).numpy())
    return np.concatenate(out) if out else np.zeros((0, net.classes), np.float32)
