"""The mock's profiles: each a route table, a renderer, a run-request validator and model options.

``documented`` serves ``openapi/tasks.yaml`` exactly; ``wire`` speaks what the production service
and its official clients speak. ``docs/profiles.md`` says where they differ.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping

from infsh_harness.mock.config import MockConfig
from infsh_harness.mock.profiles import documented, wire
from infsh_harness.mock.profiles.profile import Profile
from infsh_harness.spec import Spec

__all__ = ["BUILDERS", "Profile", "build_profile"]

# profile name -> its builder; the names are config.PROFILES
BUILDERS: Mapping[str, Callable[[Spec, MockConfig, random.Random], Profile]] = {
    "documented": documented.build,
    "wire": wire.build,
}


def build_profile(spec: Spec, config: MockConfig, rng: random.Random) -> Profile:
    """The profile ``config.profile`` names."""
    return BUILDERS[config.profile](spec, config, rng)
