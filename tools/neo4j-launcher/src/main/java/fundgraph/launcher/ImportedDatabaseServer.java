package fundgraph.launcher;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.io.ByteUnit;

/**
 * Serves an existing Neo4j home over Bolt: the database {@code neo4j-admin database import full} wrote into
 * {@code HOME/data/databases/neo4j}, opened by the embedded DBMS (community edition, auth disabled).
 *
 * <p>Run: {@code java -cp target/neo4j-launcher.jar:target/lib/* fundgraph.launcher.ImportedDatabaseServer
 * --home HOME [--port N] [--pagecache SIZE]}. Same protocol as {@link Neo4jLauncher}: prints
 * {@code BOLT_URI=bolt://127.0.0.1:PORT} once Bolt accepts connections and {@code STOPPED} after shutdown;
 * stops when stdin reaches end-of-file or on SIGTERM/SIGINT. The importer itself is
 * {@code org.neo4j.cli.AdminTool} from the same class path (neo4j-import-tool is a dependency of neo4j).
 */
public final class ImportedDatabaseServer {

    private ImportedDatabaseServer() {
    }

    public static void main(String[] args) throws Exception {
        Path home = null;
        int port = 0;
        String pagecache = "64m";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--home" -> home = Path.of(args[++i]);
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "--pagecache" -> pagecache = args[++i];
                default -> {
                    System.err.println("unknown argument: " + args[i]);
                    System.exit(2);
                }
            }
        }
        if (home == null || !Files.isDirectory(home.resolve("data/databases/neo4j"))) {
            System.err.println("--home must name a Neo4j home with data/databases/neo4j (run the import first)");
            System.exit(2);
        }

        long t0 = System.nanoTime();
        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .setConfig(HttpConnector.enabled, false)
                .setConfig(GraphDatabaseSettings.auth_enabled, false)
                .setConfig(GraphDatabaseSettings.pagecache_memory, ByteUnit.parse(pagecache))
                .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 0)
                .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_timeout, Duration.ofSeconds(2))
                .build();
        // Fail fast (and visibly) if the imported store cannot be opened.
        dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME).executeTransactionally("RETURN 1");

        AtomicBoolean closed = new AtomicBoolean(false);
        CountDownLatch done = new CountDownLatch(1);
        Runnable stop = () -> {
            if (closed.compareAndSet(false, true)) {
                try {
                    dbms.shutdown();
                } finally {
                    System.out.println("STOPPED");
                    System.out.flush();
                    done.countDown();
                }
            }
        };
        Runtime.getRuntime().addShutdownHook(new Thread(stop, "imported-db-shutdown"));

        int boltPort = port;
        if (boltPort == 0) {
            // The port the OS chose: read it back from the resolved connector configuration.
            var resolver = ((org.neo4j.kernel.internal.GraphDatabaseAPI) dbms.database("system"))
                    .getDependencyResolver();
            var registry = resolver.resolveDependency(org.neo4j.configuration.connectors.ConnectorPortRegister.class);
            boltPort = registry.getLocalAddress(org.neo4j.configuration.connectors.ConnectorType.BOLT).getPort();
        }
        System.err.printf("imported-db-server: started in %d ms%n", (System.nanoTime() - t0) / 1_000_000);
        System.out.println("BOLT_URI=bolt://127.0.0.1:" + boltPort);
        System.out.flush();

        Thread watcher = new Thread(() -> {
            InputStream in = System.in;
            byte[] buf = new byte[256];
            try {
                while (in.read(buf) >= 0) {
                    // only end-of-file matters
                }
            } catch (IOException ignored) {
                // a broken stdin is end-of-file
            }
            stop.run();
        }, "imported-db-stdin");
        watcher.setDaemon(true);
        watcher.start();

        done.await();
        System.exit(0);
    }
}
