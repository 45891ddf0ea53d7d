// aedes-persistence-redis 11 ships no type declarations; the broker only calls its factory.
declare module 'aedes-persistence-redis' {
  /** Create a Redis persistence for Aedes (options are ioredis connection options). */
  const factory: (opts?: object) => unknown;
  export default factory;
}
