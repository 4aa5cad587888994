package io.acme.worker;

import java.util.Properties;

public final class Kafka {
    private static final String DB_PASSWORD = "Qq7bAo0KY39pcp3R!7";
    private static final String TRUSTSTORE_PASSWORD_PROPERTY = "javax.net.ssl.trustStorePassword";

    static Properties consumer(String token) {
        Properties props = new Properties();
        props.put("bootstrap.servers", "kafka.internal:9093");
        props.put("security.protocol", "SASL_SSL");
        props.put("sasl.mechanism", "PLAIN");
        props.put("sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"billing\" password=\"d3OpNiWFbwBHX49SPWqT#3\";");
        props.put("ssl.truststore.password", "changeit");
        System.setProperty(TRUSTSTORE_PASSWORD_PROPERTY, System.getenv("TRUSTSTORE_PASSWORD"));
        props.put("client.auth.header", "Bearer " + token);
        return props;
    }
}
