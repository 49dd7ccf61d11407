"""SQL, one module per aggregate: functions that take a connection and return Structs."""
