/** A SKU as every module and event spells it: 1-64 letters, digits, dot, dash or underscore. */
export const SKU_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** What a client is told when a SKU breaks the rule. */
export const SKU_RULE = 'sku must be 1-64 letters, digits, dot, dash or underscore';
