"""smimages: a local, AWS-compatible SageMaker AI custom-images service."""
