"""The embedded AWS emulator: moto, served by waitress on loopback, with in-process extensions
for the calls this project needs that moto lacks (see emulator/extensions/)."""
