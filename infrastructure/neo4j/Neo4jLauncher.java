// A tiny launcher for Neo4j Community, embedded, with the Bolt connector on.
//
// Why not the packaged server: the Neo4j distribution (tarball, .deb) is not on Maven Central, and its
// server entry point needs the whole `neo4j-server` web stack and a neo4j.conf layout. The embedded
// engine from `org.neo4j:neo4j` plus `org.neo4j:neo4j-bolt` is the same database behind the same Bolt
// protocol, which is all the integration tests talk to.
//
// infrastructure/neo4j.sh compiles this file with javac against .cache/jars/neo4j at `up` time and runs:
//   java -cp <classes>:<jars>/* Neo4jLauncher <home-dir> <host> <port>
// Authentication is disabled: the tests connect to bolt://127.0.0.1:7687 with no credentials.
// It prints NEO4J_LAUNCHER_READY once Bolt listens and `RETURN 1` has run; neo4j.sh waits for that line.

import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.io.ByteUnit;

public final class Neo4jLauncher {
  private Neo4jLauncher() {}

  public static void main(String[] args) throws InterruptedException {
    if (args.length != 3) {
      System.err.println("usage: Neo4jLauncher <home-dir> <host> <bolt-port>");
      System.exit(2);
    }
    Path home = Path.of(args[0]).toAbsolutePath();
    String host = args[1];
    int port = Integer.parseInt(args[2]);

    DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
        .setConfig(BoltConnector.enabled, true)
        .setConfig(BoltConnector.listen_address, new SocketAddress(host, port))
        .setConfig(BoltConnector.advertised_address, new SocketAddress(host, port))
        // Tests run on a throwaway instance: no credentials to manage.
        .setConfig(GraphDatabaseSettings.auth_enabled, false)
        // The embedded engine has no HTTP server anyway; say so rather than rely on the default.
        .setConfig(HttpConnector.enabled, false)
        // Neo4j reports anonymous usage data to neo4j.com by default; this machine must not call out.
        .setConfig(GraphDatabaseSettings.udc_enabled, false)
        // The default page cache is sized from the machine's memory; a test database needs little.
        .setConfig(GraphDatabaseSettings.pagecache_memory, ByteUnit.mebiBytes(256))
        // Transaction logs are for backups and clustering, neither of which a test database has.
        // The defaults (256 MiB preallocated per database, kept for days) fill the disk under
        // repeated test and benchmark runs; keep only the latest small log instead.
        .setConfig(GraphDatabaseSettings.preallocate_logical_logs, false)
        .setConfig(GraphDatabaseSettings.logical_log_rotation_threshold, ByteUnit.mebiBytes(32))
        .setConfig(GraphDatabaseSettings.keep_logical_logs, "false")
        .build();

    CountDownLatch stopped = new CountDownLatch(1);
    // `services.sh down` sends SIGTERM: shut the databases down cleanly so the store is not left dirty.
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      System.out.println("Neo4jLauncher: shutting down");
      dbms.shutdown();
      stopped.countDown();
    }, "neo4j-launcher-shutdown"));

    GraphDatabaseService db = dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
    db.executeTransactionally("RETURN 1");
    System.out.println("NEO4J_LAUNCHER_READY bolt://" + host + ":" + port);
    System.out.flush();
    stopped.await();
  }
}
