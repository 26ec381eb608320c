"""Terraform, run the one way this project runs it: synthesis of the stacks (synth), the
terraform runner (runner) and typed views of what terraform prints (tfjson)."""
