package org.apache.dubbo.demo;

import java.io.Serializable;
import java.util.Objects;

/** {@code org.apache.dubbo.demo.User}: fields name and age, in that order. */
public class User implements Serializable {
    private static final long serialVersionUID = 1L;

    private String name;
    private int age;

    public User() {}

    public User(String name, int age) {
        this.name = name;
        this.age = age;
    }

    public String getName() {
        return name;
    }

    public void setName(String name) {
        this.name = name;
    }

    public int getAge() {
        return age;
    }

    public void setAge(int age) {
        this.age = age;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof User && Objects.equals(name, ((User) o).name) && age == ((User) o).age;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, age);
    }

    @Override
    public String toString() {
        return "User{name=" + name + ", age=" + age + "}";
    }
}
