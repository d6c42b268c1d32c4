"""Reference models: the course's MLP autoencoder and VAE.

Both use the course's shape, 784 -> 400 -> latent -> 400 -> 784 with ReLU hidden
layers, and take flattened images (B, 784) or image batches (B, 1, 28, 28).
The decoders return pixel probabilities in (0, 1); ``decode_logits`` gives the
pre-sigmoid values for numerically stable, fused losses.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .data import IMAGE_PIXELS


class Autoencoder(nn.Module):
    """Deterministic autoencoder: z = f(x), x_hat = g(z)."""

    def __init__(self, input_dim: int = IMAGE_PIXELS, hidden_dim: int = 400, latent_dim: int = 8):
        super().__init__()
        self.input_dim, self.latent_dim = input_dim, latent_dim
        self.fc1 = nn.Linear(input_dim, hidden_dim)
        self.fc2 = nn.Linear(hidden_dim, latent_dim)
        self.fc3 = nn.Linear(latent_dim, hidden_dim)
        self.fc4 = nn.Linear(hidden_dim, input_dim)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 784) or (B, 1, 28, 28) -> codes z (B, latent_dim)."""
        return self.fc2(F.relu(self.fc1(x.reshape(-1, self.input_dim))))

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """(B, latent_dim) -> pre-sigmoid pixels (B, 784)."""
        return self.fc4(F.relu(self.fc3(z)))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(B, latent_dim) -> pixels x_hat (B, 784) in (0, 1)."""
        return torch.sigmoid(self.decode_logits(z))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 784) -> reconstruction (B, 784)."""
        return self.decode(self.encode(x))


class VAE(nn.Module):
    """Variational autoencoder with a diagonal Gaussian encoder q(z|x) = N(mu, sigma^2)."""

    def __init__(self, input_dim: int = IMAGE_PIXELS, hidden_dim: int = 400, latent_dim: int = 8):
        super().__init__()
        self.input_dim, self.latent_dim = input_dim, latent_dim
        self.fc1 = nn.Linear(input_dim, hidden_dim)
        self.fc_mu = nn.Linear(hidden_dim, latent_dim)
        self.fc_logvar = nn.Linear(hidden_dim, latent_dim)
        self.fc3 = nn.Linear(latent_dim, hidden_dim)
        self.fc4 = nn.Linear(hidden_dim, input_dim)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 784) -> mu, logvar, each (B, latent_dim)."""
        h = F.relu(self.fc1(x.reshape(-1, self.input_dim)))
        return self.fc_mu(h), self.fc_logvar(h)

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """z = mu + sigma * eps with eps ~ N(0, I); same shape as mu."""
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """(B, latent_dim) -> pre-sigmoid pixels (B, 784)."""
        return self.fc4(F.relu(self.fc3(z)))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(B, latent_dim) -> pixel probabilities (B, 784) in (0, 1)."""
        return torch.sigmoid(self.decode_logits(z))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, 784) -> (recon_x (B, 784), mu, logvar (B, latent_dim))."""
        mu, logvar = self.encode(x)
        return self.decode(self.reparameterize(mu, logvar)), mu, logvar
