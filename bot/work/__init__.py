"""The work queue: side effects written with the state change that causes them, done once by any replica."""
