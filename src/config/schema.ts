/**
 * The config file (kt.yaml) and suite files (suites/*.yaml), validated with zod so a typo is
 * an error that names the file and the key, never a silently ignored setting.
 */
import { z } from 'zod';

export const suiteSchema = z
  .object({
    /** fstests FSTYP. */
    fstyp: z.enum(['xfs', 'ext4', 'ext2', 'ext3', 'btrfs']),
    /** MKFS_OPTIONS (also used for TEST_DEV). */
    mkfsOptions: z.string().default(''),
    /** MOUNT_OPTIONS. */
    mountOptions: z.string().default(''),
    /** Exclude files (fstests -E format), relative to the suite file. */
    exclude: z.array(z.string()).default([]),
    /** Extra local.config variables (e.g. USE_KMEMLEAK: "yes"). */
    env: z.record(z.string(), z.string()).default({}),
  })
  .strict();

export type Suite = z.infer<typeof suiteSchema>;

export const configFileSchema = z
  .object({
    fstests: z.string().optional(),
    kernel: z.string().optional(),
    suite: z.string().optional(),
    jobs: z.number().int().positive().optional(),
    batch: z.number().int().positive().optional(),
    backend: z.enum(['direct', 'nixos']).optional(),
    results: z.string().optional(),
    accel: z.enum(['auto', 'kvm', 'tcg']).optional(),
    memory: z.number().int().positive().optional(),
    cpus: z.number().int().positive().optional(),
    testSize: z.union([z.string(), z.number()]).optional(),
    scratchSize: z.union([z.string(), z.number()]).optional(),
    testTimeout: z.number().positive().optional(),
    bootTimeout: z.number().positive().optional(),
    retries: z.number().int().nonnegative().optional(),
    exclude: z.array(z.string()).optional(),
    append: z.array(z.string()).optional(),
    transport: z.enum(['virtio-serial', 'tcp']).optional(),
  })
  .strict();

export type ConfigFile = z.infer<typeof configFileSchema>;
