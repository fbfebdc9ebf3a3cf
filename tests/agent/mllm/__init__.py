"""Tests of agent.mllm."""
