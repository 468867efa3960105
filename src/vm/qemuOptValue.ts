/**
 * A value inside a QEMU `key=value,key=value` option (-drive, -chardev, -qmp, -netdev,
 * -device, -name). QEMU's option parser ends a value at the first comma and reads a doubled
 * comma as one literal comma (QEMU docs, "Invocation": "to specify a filename containing a
 * comma, double the comma"; util/qemu-option.c get_opt_value). Without this a path such as
 * /home/a,b/.cache/kt/... would be cut at the comma and the rest read as another option.
 */
export function qemuOptValue(value: string): string {
  return value.replaceAll(',', ',,');
}
