import 'reflect-metadata';
// kafkajs prints a partitioner notice on every producer; the project chooses its partitioner explicitly.
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
