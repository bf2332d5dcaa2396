"""AWS JSON 1.1 wire protocol: request parsing, input validation, response and error bytes."""
