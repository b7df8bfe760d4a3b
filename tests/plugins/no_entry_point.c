/* A valid shared library that forgot kiln_register_ops: loading it must be refused. */
int not_kiln_register_ops(void) { return 0; }
