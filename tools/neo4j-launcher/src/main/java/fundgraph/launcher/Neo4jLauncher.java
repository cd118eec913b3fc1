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
import org.neo4j.harness.Neo4j;
import org.neo4j.harness.Neo4jBuilders;

/**
 * Starts an in-process Neo4j (neo4j-harness, community edition) with Bolt on 127.0.0.1 and auth disabled.
 *
 * <p>Protocol (machine-readable, one line each on stdout): {@code BOLT_URI=bolt://127.0.0.1:PORT} once Bolt
 * accepts connections, then {@code STOPPED} after shutdown. Everything else (Neo4j's logs) goes to the
 * harness's working directory or stderr. The server stops when stdin reaches end-of-file (the parent process
 * closed the pipe or died) or on SIGTERM/SIGINT.
 *
 * <p>Arguments: {@code --port N} (default 0 = a free port chosen by the OS; a fixed port lets a test stop and
 * restart the server on the same address), {@code --dir PATH} (working directory; default a new temp dir),
 * {@code --pagecache SIZE} (default 128m).
 */
public final class Neo4jLauncher {

    private Neo4jLauncher() {
    }

    public static void main(String[] args) throws Exception {
        int port = 0;
        Path dir = null;
        String pagecache = "128m";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "--dir" -> dir = Path.of(args[++i]);
                case "--pagecache" -> pagecache = args[++i];
                default -> {
                    System.err.println("unknown argument: " + args[i]);
                    System.exit(2);
                }
            }
        }
        if (dir == null) {
            dir = Files.createTempDirectory("fundgraph-neo4j-");
        }
        Files.createDirectories(dir);

        long t0 = System.nanoTime();
        Neo4j neo4j = Neo4jBuilders.newInProcessBuilder(dir)
                .withDisabledServer()
                .withConfig(BoltConnector.enabled, true)
                .withConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .withConfig(HttpConnector.enabled, false)
                .withConfig(GraphDatabaseSettings.auth_enabled, false)
                .withConfig(GraphDatabaseSettings.pagecache_memory, org.neo4j.io.ByteUnit.parse(pagecache))
                // Bolt's netty shutdown otherwise waits a quiet period plus up to 15 s: a test server need not.
                .withConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 0)
                .withConfig(GraphDatabaseInternalSettings.netty_server_shutdown_timeout, Duration.ofSeconds(2))
                .build();

        AtomicBoolean closed = new AtomicBoolean(false);
        CountDownLatch done = new CountDownLatch(1);
        Runnable stop = () -> {
            if (closed.compareAndSet(false, true)) {
                try {
                    neo4j.close();
                } finally {
                    System.out.println("STOPPED");
                    System.out.flush();
                    done.countDown();
                }
            }
        };
        // SIGTERM / SIGINT run shutdown hooks: close the database cleanly before the JVM exits.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stop.run();
        }, "neo4j-launcher-shutdown"));

        String uri = neo4j.boltURI().toString().replace("localhost", "127.0.0.1");
        System.err.printf("neo4j-launcher: started in %d ms%n", (System.nanoTime() - t0) / 1_000_000);
        System.out.println("BOLT_URI=" + uri);
        System.out.flush();

        // Stop when the parent closes our stdin (or dies): read until end-of-file.
        Thread watcher = new Thread(() -> {
            InputStream in = System.in;
            byte[] buf = new byte[256];
            try {
                while (in.read(buf) >= 0) {
                    // ignore input; only end-of-file matters
                }
            } catch (IOException ignored) {
                // treat a broken stdin like end-of-file
            }
            stop.run();
        }, "neo4j-launcher-stdin");
        watcher.setDaemon(true);
        watcher.start();

        done.await();
        System.exit(0);
    }
}
